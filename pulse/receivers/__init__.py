"""Receivers: the transports data arrives by - OTLP/gRPC (``otlp_grpc``), OTLP/HTTP
(``otlp_http``) and the native Pulse HTTP routes (``native``).

Transport concerns only: authentication (a callable passed in), body limits and bounded reading
and decompression (``body``), the bytes in flight (``inflight``), and answering in the request's
encoding (``otlp_answers``). Every receiver hands what it got to the one ingest entry,
:meth:`pulse.pipeline.Ingestor.ingest`; OTLP bodies go unparsed (they are decoded once, in a
mapping worker). This package never imports ``storage`` or ``config``, nor ``api``.
"""
