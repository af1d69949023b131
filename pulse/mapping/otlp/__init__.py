"""OTLP on the wire: everything that knows the protobuf shapes of OpenTelemetry's protocol.

* :mod:`.decode` - request bodies (``application/x-protobuf`` or OTLP/JSON) -> Export*Request
  messages, or ``InvalidInput``;
* :mod:`.anyvalue` - ``AnyValue`` / ``repeated KeyValue`` -> plain Python values;
* :mod:`.ids` - OTel trace/span ids and the deterministic Pulse record ids derived from them;
* :mod:`.items` - the one normalised view (:class:`~.items.Item`) of a span or log record that
  every convention family reads.

Nothing here knows a convention family; nothing in the families knows protobuf.
"""
