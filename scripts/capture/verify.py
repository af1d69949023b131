"""Check the stored captures, and show what Pulse's current mapping makes of each export.

    python scripts/capture/verify.py [tests/data/otlp/captures/<scenario> ...]

For every NN-<signal>.json / .pb pair: Pulse's own OTLP decoder must read the
JSON file and the protobuf file into the same message (so the conversion is
faithful), and no private string of the capturing machine may appear (temp
dirs, /root, the worktree path, the host name, the machine id). Then each
export is mapped on its own, as Pulse does today, and the counts are printed:
the baseline the record-assembly work changes. Exit status 1 on any failure.
Run with the project venv (it imports pulse.mapping).
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from pulse.mapping import (
    decode_logs_request,
    decode_metrics_request,
    decode_traces_request,
    map_logs,
    map_metrics,
    map_traces,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CAPTURES = REPO / "tests" / "data" / "otlp" / "captures"
DECODE = {"traces": decode_traces_request, "logs": decode_logs_request,
          "metrics": decode_metrics_request}


def private_strings() -> list[bytes]:
    # "pulse-capture-" also catches the temp dir in slug form (-tmp-pulse-capture-xyz-work)
    found = [b"pulse-capture-", b"/root/", str(REPO).encode()]
    host = socket.gethostname()
    if len(host) >= 4:  # a short name like "vm" occurs in ordinary text
        found.append(host.encode())
    machine_id = Path("/etc/machine-id")
    if machine_id.exists():
        found.append(machine_id.read_text().strip().encode())
    return found


def mapped(signal: str, msg) -> str:
    if signal == "metrics":
        points, rejected, _ = map_metrics(msg)
        return f"{len(points)} metric points, {rejected} rejected"
    res = map_traces(msg) if signal == "traces" else map_logs(msg)
    why = f" ({res.messages[0][:80]})" if res.messages else ""
    return (f"{len(res.traces)} traces, {len(res.spans)} spans, "
            f"{res.rejected} rejected, {res.dropped} dropped{why}")


def check(folder: Path, secrets: list[bytes]) -> int:
    failures = 0
    for js in sorted(folder.glob("[0-9][0-9]-*.json")):
        signal = js.stem.split("-", 1)[1]
        pb = js.with_suffix(".pb")
        from_json = DECODE[signal](js.read_bytes(), "application/json")
        from_pb = DECODE[signal](pb.read_bytes(), "application/x-protobuf")
        problems = [] if from_json == from_pb else ["JSON and protobuf differ"]
        problems += [f"private string {s.decode()!r}" for s in secrets
                     if s in js.read_bytes() or s in pb.read_bytes()]
        failures += bool(problems)
        status = "; ".join(problems) if problems else mapped(signal, from_pb)
        print(f"  {js.name}: {status}")
    return failures


def main(argv: list[str]) -> int:
    folders = [Path(a) for a in argv] or sorted(p for p in CAPTURES.iterdir() if p.is_dir())
    secrets = private_strings()
    failures = 0
    for folder in folders:
        print(folder.name)
        failures += check(folder, secrets)
    print("FAILED" if failures else "all captures OK")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
