"""One module per resource: traces, spans, sessions, health."""
