"""The durable ingest queue: what the ingest path appends to and the writer loop drains.

``IngestQueue`` (``interface``) is the whole contract the pipeline relies on; ``FileQueue``
(``file``, with ``segment``/``recovery``/``append``/``consume``) is the production backend on
local disk, ``MemoryQueue`` (``memory``) its in-memory twin, ``NatsQueue`` (``nats_queue``,
``nats_stream``) the shared NATS JetStream backend of scaled-out deployments. A queue stores
opaque payloads (the pipeline's codec decides what they hold); this package imports nothing of
the project but ``errors``.
"""

from pulse.queue.file import FileQueue
from pulse.queue.interface import IngestQueue, QueueClosed, QueueEntry
from pulse.queue.memory import MemoryQueue
from pulse.queue.nats_queue import NatsQueue
from pulse.queue.nats_stream import NatsOptions, StreamState
from pulse.queue.recovery import QueueLocked
from pulse.queue.segment import HEADER

__all__ = [
    "HEADER",
    "FileQueue",
    "IngestQueue",
    "MemoryQueue",
    "NatsOptions",
    "NatsQueue",
    "QueueClosed",
    "QueueEntry",
    "QueueLocked",
    "StreamState",
]
