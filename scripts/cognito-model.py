#!/usr/bin/env python3
"""Writes tests/fixtures/cognito-idp-model.json: the part of botocore's `cognito-idp`
2016-04-18 service model that poolgate serves (every operation named by an `op!` line
in src/cognito/mod.rs, with the shapes its input and output reach), documentation
stripped. The tests compare poolgate's request fields and answers against it, so a
served operation that drifts from the model fails a test.

Run it after adding an operation:  python3 scripts/cognito-model.py
(needs botocore: `pip install botocore`, which scripts/setup.sh --test installs).
"""
import gzip
import json
import os
import re
import sys

import botocore

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = os.path.join(ROOT, "src", "cognito", "mod.rs")
OUT = os.path.join(ROOT, "tests", "fixtures", "cognito-idp-model.json")


def load_model():
    base = os.path.join(os.path.dirname(botocore.__file__), "data", "cognito-idp", "2016-04-18")
    plain = os.path.join(base, "service-2.json")
    if os.path.exists(plain):
        with open(plain) as f:
            return json.load(f)
    with gzip.open(plain + ".gz") as f:
        return json.load(f)


def trim(shape):
    """A shape without documentation: its type, members (name -> shape), required,
    list member, map key/value, enum values."""
    out = {"type": shape["type"]}
    if shape["type"] == "structure":
        out["members"] = {k: v["shape"] for k, v in shape.get("members", {}).items()}
        out["required"] = shape.get("required", [])
    elif shape["type"] == "list":
        out["member"] = shape["member"]["shape"]
    elif shape["type"] == "map":
        out["key"] = shape["key"]["shape"]
        out["value"] = shape["value"]["shape"]
    if "enum" in shape:
        out["enum"] = shape["enum"]
    return out


def main() -> None:
    with open(TABLE) as f:
        code = "\n".join(l for l in f if not l.lstrip().startswith("//"))
    served = sorted(set(re.findall(r'op!\(\s*"(\w+)"', code)))
    model = load_model()
    ops, shapes, todo = {}, {}, []
    for name in served:
        op = model["operations"].get(name)
        if op is None:
            sys.exit(f"{name} is not an operation of the cognito-idp model")
        unsigned = op.get("authtype") == "none" or op.get("auth") == ["smithy.api#noAuth"]
        entry = {"signed": not unsigned}
        for side in ("input", "output"):
            if side in op:
                entry[side] = op[side]["shape"]
                todo.append(op[side]["shape"])
        ops[name] = entry
    while todo:
        name = todo.pop()
        if name in shapes:
            continue
        shape = trim(model["shapes"][name])
        shapes[name] = shape
        todo.extend(shape.get("members", {}).values())
        todo.extend(shape[k] for k in ("member", "key", "value") if k in shape)
    doc = {
        "source": "botocore cognito-idp 2016-04-18 (" + botocore.__version__ + ")",
        "operations": ops,
        "shapes": dict(sorted(shapes.items())),
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{OUT}: {len(ops)} operations, {len(shapes)} shapes")


if __name__ == "__main__":
    main()
