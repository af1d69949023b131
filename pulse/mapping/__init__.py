"""Pure translation of what clients send (native Pulse JSON, OTLP) into ``records``.

No I/O and no asyncio here (DESIGN.md): every function takes decoded input and returns records or
raises ``errors.InvalidInput``. Golden fixtures in ``tests/data`` pin the behaviour.

The names below are the package's public surface: every other layer imports mapping through
them only (never a module inside the package), so the package can be reorganised freely.
"""

from pulse.mapping.native import parse_json_array, spans_from_json, traces_from_json
from pulse.mapping.otlp.decode import (
    decode_logs_request,
    decode_metrics_request,
    decode_traces_request,
)
from pulse.mapping.signals import MappingResult, map_logs, map_metrics, map_traces

__all__ = [
    "MappingResult",
    "decode_logs_request",
    "decode_metrics_request",
    "decode_traces_request",
    "map_logs",
    "map_metrics",
    "map_traces",
    "parse_json_array",
    "spans_from_json",
    "traces_from_json",
]
