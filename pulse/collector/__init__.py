"""Receivers and the ingest path (DESIGN.md "The ingest path").

Transports (``http.py``, later ``grpc.py``) only authenticate, decode bytes, call ``mapping`` and
hand records to :class:`~pulse.collector.ingest.Ingestor`, the one path every transport shares.
The storage writer and the authenticator are passed in; this package never imports ``storage``.
"""
