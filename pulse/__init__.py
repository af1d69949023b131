"""Pulse Bridge: an OpenTelemetry-native trace service for LLM applications and coding agents.

The package is layered (see README "Architecture"): ``records``/``errors``/``config`` at the
bottom; ``queue`` (the durable ingest queue), ``mapping`` (pure translation) and ``storage`` (all
SQL) above them; ``pipeline`` (the one ingest entry, mapping workers, writer loop) above those;
``receivers`` (OTLP and native transports) and ``api`` (FastAPI read routes) on top; and
``main``/``cli`` composing everything.
"""

__version__ = "0.1.0"
