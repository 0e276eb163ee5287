"""Schemathesis hooks for tests/console_fuzz.sh: a request the API rejects (4xx) must not
change the config directory."""

import hashlib
import os

import schemathesis

ROOT = os.environ["GANTRY_FUZZ_CONFIG"]
STATE = {"before": None}


def digest():
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".tmp"):
                continue
            path = os.path.join(dirpath, name)
            h.update(path.encode())
            try:
                with open(path, "rb") as f:
                    h.update(f.read())
            except FileNotFoundError:
                pass
    return h.hexdigest()


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    STATE["before"] = digest()


@schemathesis.check
def rejected_request_changes_nothing(ctx, response, case):
    if 400 <= response.status_code < 500 and STATE["before"] is not None:
        if digest() != STATE["before"]:
            raise AssertionError(
                f"{case.method} {case.path} was rejected ({response.status_code}) but changed the config directory"
            )
