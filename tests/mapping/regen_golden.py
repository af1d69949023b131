"""Regenerate ``tests/data/otlp/*.expected.json`` from the current mapping.

Run only after reviewing a mapping change: ``python -m tests.mapping.regen_golden [name ...]``.
The ``family`` field of an existing expected file is kept (it feeds the compatibility matrix).
"""

from __future__ import annotations

import json
import sys

from tests.mapping.golden import expected_path, fixtures, mapped


def main(names: list[str]) -> None:
    for path in fixtures():
        if names and not any(n in path.name for n in names):
            continue
        target = expected_path(path)
        old = json.loads(target.read_text()) if target.exists() else {}
        data = {"family": old.get("family", "unknown"), **mapped(path)}
        target.write_text(json.dumps(data, indent=1, ensure_ascii=False, sort_keys=False) + "\n")
        print("wrote", target.name)


if __name__ == "__main__":
    main(sys.argv[1:])
