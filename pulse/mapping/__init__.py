"""Pure translation of what clients send (native Pulse JSON, OTLP) into ``records``.

No I/O and no asyncio here: every function takes decoded input and returns records or raises
``errors.InvalidInput``. Golden fixtures in ``tests/data/otlp`` pin the behaviour; the contract
is described in docs/mapping.md.

Inside the package:

* ``native`` - the native JSON API (validation, records);
* ``otlp/`` - OTLP wire decoding: bodies, AnyValue, ids, the normalised ``Item`` view;
* ``families/`` - one module per convention family, and the ordered ``registry`` that assembles
  the cross-family precedence chains;
* ``classify`` (trace / span / drop / fold), ``fields`` (chain-driven field resolution),
  ``trace_builder`` / ``span_builder`` / ``assemble`` (records), ``signals`` (entry points);
* ``usage`` / ``cost`` / ``pricing`` / ``finish`` / ``providers`` - normalisation shared by all
  paths; ``otlp_metrics`` - OTLP metric points; ``attrs`` / ``content`` / ``jsonsafe`` /
  ``timestamps`` - small shared helpers; ``merge`` - the field-by-field merge of two pieces of
  one trace row (record assembly; storage gets it as a callback from ``main``).

The names below are the package's public surface: every other layer imports mapping through
them only (never a module inside the package), so the package can be reorganised freely.
"""

from pulse.mapping.cost import current_aliases, set_model_aliases
from pulse.mapping.merge import merge_trace_rows
from pulse.mapping.native import parse_json_array, spans_from_json, traces_from_json
from pulse.mapping.otlp.decode import (
    decode_logs_request,
    decode_metrics_request,
    decode_traces_request,
)
from pulse.mapping.signals import MappingResult, map_logs, map_metrics, map_traces

__all__ = [
    "MappingResult",
    "current_aliases",
    "decode_logs_request",
    "decode_metrics_request",
    "decode_traces_request",
    "map_logs",
    "map_metrics",
    "map_traces",
    "merge_trace_rows",
    "parse_json_array",
    "set_model_aliases",
    "spans_from_json",
    "traces_from_json",
]
