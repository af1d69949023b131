"""Pure mapping time over the golden fixtures (prints figures; never asserted in tests).

    python bench/mapping_bench.py [--passes 50] [--repeat 5]

Decodes every ``tests/data/otlp/*.json`` fixture once, then maps all of them ``--passes`` times
and prints the best per-pass time of ``--repeat`` runs. To compare with another revision, run it
with that revision's ``pulse`` first on the path::

    git archive REV pulse | tar -x -C /tmp/base
    PYTHONPATH=/tmp/base python bench/mapping_bench.py
"""

from __future__ import annotations

import argparse
import json
import timeit
from pathlib import Path

import pulse
from pulse.mapping import decode_logs_request, decode_traces_request, map_logs, map_traces

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "data" / "otlp"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    work = []
    for path in sorted(FIXTURES.glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        raw = path.read_bytes()
        doc = json.loads(raw)
        if "resourceSpans" in doc:
            work.append((map_traces, decode_traces_request(raw, "application/json")))
        elif "resourceLogs" in doc:
            work.append((map_logs, decode_logs_request(raw, "application/json")))

    def one_pass() -> None:
        for mapper, message in work:
            mapper(message)

    one_pass()  # warm caches (prices, registry)
    best = min(timeit.repeat(one_pass, number=args.passes, repeat=args.repeat)) / args.passes
    print(f"pulse from {Path(pulse.__file__).parent}")
    print(f"{best * 1000:.2f} ms per pass over {len(work)} fixtures (best of {args.repeat})")


if __name__ == "__main__":
    main()
