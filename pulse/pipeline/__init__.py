"""The ingest pipeline: what happens between a receiver and the database.

Receivers call ONE entry, :meth:`Ingestor.ingest` (``ingest``), with an OTLP export as received
or validated native records. OTLP is decoded and mapped once, in worker processes (``mapper``);
the result is encoded as a queue entry (``codec``) and appended durably to the ingest queue
(``pulse.queue``); the writer loop (``writer_loop``) drains the queue into storage through the
functions ``main`` passes in (``store``). ``status`` turns error kinds into OTLP answers,
``telemetry`` holds the Prometheus metrics of the whole path.

This package never imports ``storage`` or ``config``: storage functions and settings values are
passed in by ``main``.
"""

from pulse.pipeline.ingest import Ingestor, OtlpExport, Outcome, Wait
from pulse.pipeline.mapper import Mapper
from pulse.pipeline.store import Store
from pulse.pipeline.telemetry import CONTENT_TYPE, IngestMetrics
from pulse.pipeline.writer_loop import WriterLoop

__all__ = [
    "CONTENT_TYPE",
    "IngestMetrics",
    "Ingestor",
    "Mapper",
    "OtlpExport",
    "Outcome",
    "Store",
    "Wait",
    "WriterLoop",
]
