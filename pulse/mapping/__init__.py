"""Pure translation of what clients send (native Pulse JSON, OTLP) into ``records``.

No I/O and no asyncio here (DESIGN.md): every function takes decoded input and returns records or
raises ``errors.InvalidInput``. Golden fixtures in ``tests/data`` pin the behaviour.
"""
