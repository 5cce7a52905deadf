"""Copy the collections galaxy.yml depends on next to the staged collection.

ansible-test only sees collections under the same ansible_collections folder, and Galaxy is
out of reach in CI, so the copies come from the `ansible` community package in the venv.
"""

import json
import operator
import pathlib
import re
import shutil
import sys

import yaml
from ansible.module_utils.compat.version import LooseVersion

import ansible_collections

OPS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
       "<": operator.lt, ">": operator.gt}


def main(dest):
    root = pathlib.Path(__file__).resolve().parent.parent
    deps = yaml.safe_load((root / "galaxy.yml").read_text())["dependencies"] or {}
    sources = [pathlib.Path(p) for p in ansible_collections.__path__]
    for fqcn, spec in deps.items():
        ns, name = fqcn.split(".")
        src = next((s / ns / name for s in sources if (s / ns / name / "MANIFEST.json").is_file()), None)
        if src is None:
            sys.exit("stage-dependencies: %s is not installed; run make venv" % fqcn)
        version = json.loads((src / "MANIFEST.json").read_text())["collection_info"]["version"]
        have = LooseVersion(version)
        for clause in spec.split(","):
            op, want = re.match(r"\s*(>=|<=|==|!=|<|>)\s*(\S+)", clause).groups()
            if not OPS[op](have, LooseVersion(want)):
                sys.exit("stage-dependencies: %s %s does not satisfy %s" % (fqcn, version, spec))
        target = pathlib.Path(dest) / "ansible_collections" / ns / name
        stamp = target / "MANIFEST.json"
        if stamp.is_file() and json.loads(stamp.read_text())["collection_info"]["version"] == version:
            continue
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
        print("staged %s %s" % (fqcn, version))


if __name__ == "__main__":
    main(sys.argv[1])
