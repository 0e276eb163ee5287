#!/usr/bin/env python3
"""Regenerates the seed corpora in fuzz/corpus/<target>/seed-* from conf-samples/.

Usage: python3 fuzz/make-seeds.py   (needs PyYAML; the output is checked in)
"""
import pathlib
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "conf-samples"
CORPUS = ROOT / "fuzz" / "corpus"
# config_store::ResourceKind::ALL order: the first byte of a parse_source input picks the kind.
KINDS = ["configmaps", "secrets", "mcpbridges", "services", "endpoints", "endpointslices",
         "wasmplugins", "ingresses"]


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data)


def limit_seeds():
    """YAML on both sides of each input limit (fuzz targets use small caps: 64 levels,
    10,000 alias-added nodes), so the fuzzer starts where the capped parser decides."""
    def wide(items, aliases):
        return ("a: &a [" + ", ".join(["x"] * items) + "]\nb: [" +
                ", ".join(["*a"] * aliases) + "]\n")
    return {
        "wide-alias-under": wide(50, 50),
        "wide-alias-over": wide(120, 120),
        "nested-alias": "a: &a [x, y]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n",
        "merge-key": "base: &base {x: 1, y: 2}\nuse:\n  <<: *base\n  z: 3\n",
        "recursive-alias": "a: &a [1, *a]\n",
        "flow-deep-under": "[" * 60 + "]" * 60 + "\n",
        "flow-deep-over": "{a: " * 70 + "1" + "}" * 70 + "\n",
        "block-deep": "".join(" " * i + "a:\n" for i in range(70)),
        "multi-doc-anchors": "a: &x 1\n---\nb: *x\n",
    }


def main():
    for target in ("parse_source", "annotations", "higress_config", "yaml_limits"):
        for old in (CORPUS / target).glob("seed-*"):
            old.unlink()
    for sample in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        whole = []
        for f in sorted(sample.glob("*/*.yaml")):
            kind = KINDS.index(f.parent.name)
            text = f.read_bytes()
            # One file as the store reads it.
            write("parse_source", f"{sample.name}-{f.parent.name}-{f.stem}", bytes([kind]) + text)
            write("yaml_limits", f"{sample.name}-{f.parent.name}-{f.stem}", text)
            whole.append(text.rstrip(b"\n"))
            for doc in yaml.safe_load_all(text):
                if not isinstance(doc, dict):
                    continue
                notes = (doc.get("metadata") or {}).get("annotations") or {}
                if notes:
                    lines = []
                    for k, v in notes.items():
                        v = str(v).rstrip("\n").replace("\n", "\n ")
                        lines.append(f"{k}={v}")
                    write("annotations", f"{sample.name}-{f.stem}", "\n".join(lines).encode())
                data = doc.get("data") or {}
                if doc.get("kind") == "ConfigMap" and "higress" in data:
                    write("higress_config", f"{sample.name}-{f.stem}", data["higress"].encode())
        # The whole sample directory as one multi-document file, so compile sees Ingresses
        # together with their McpBridge/Services and produces routes.
        write("parse_source", f"{sample.name}-all",
              bytes([KINDS.index("ingresses")]) + b"\n---\n".join(whole) + b"\n")


    for name, text in limit_seeds().items():
        write("yaml_limits", f"limits-{name}", text.encode())
        # The same through the whole config path, as a ConfigMap file.
        write("parse_source", f"limits-{name}", bytes([KINDS.index("configmaps")]) + text.encode())


if __name__ == "__main__":
    main()
