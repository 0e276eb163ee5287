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


def main():
    for target in ("parse_source", "annotations", "higress_config"):
        for old in (CORPUS / target).glob("seed-*"):
            old.unlink()
    for sample in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        whole = []
        for f in sorted(sample.glob("*/*.yaml")):
            kind = KINDS.index(f.parent.name)
            text = f.read_bytes()
            # One file as the store reads it.
            write("parse_source", f"{sample.name}-{f.parent.name}-{f.stem}", bytes([kind]) + text)
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


if __name__ == "__main__":
    main()
