"""Pulse Bridge: an OpenTelemetry-native trace service for LLM applications and coding agents.

The package is layered (see README "Architecture"): ``records``/``errors``/``config`` at the
bottom, ``mapping`` (pure translation) and ``storage`` (all SQL) above them, ``collector``
(receivers and the ingest path) and ``api`` (FastAPI read routes) on top, and ``main``/``cli``
composing everything.
"""

__version__ = "0.1.0"
