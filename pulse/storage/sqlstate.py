"""Database errors by meaning: which failures are worth retrying, decided by SQLSTATE.

psycopg's exception classes do not say it: ``index row size ... exceeds btree maximum``
(SQLSTATE 54000, program_limit_exceeded) is an ``OperationalError``, exactly like a lost
connection, and retrying such a row can never succeed (issue 11, defect 1: one poison span
stalled every project's ingest). So the writer classifies by ``exc.sqlstate``
(PostgreSQL's "Appendix A. PostgreSQL Error Codes"):

* retryable (``errors.Retryable``: keep the batch, back off, retry) - the database or the
  connection is unavailable right now:
  08 connection exception, 53 insufficient resources (disk full, out of memory, too many
  connections), 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now,
  57014 query canceled (statement timeout, pg_cancel_backend), 58 system error (I/O),
  40001 serialization failure, 40P01 deadlock detected, 55P03 lock not available; and any
  connection-level error without a SQLSTATE (the server never answered: connection lost, pool
  timeout);
* permanent (``errors.Unstorable``: bisect, dead-letter with the reason, continue) - everything
  else the server answered with: 22 data exception, 23 integrity constraint violation, 42 syntax
  error or access rule violation, 54 program limit exceeded, P0 PL/pgSQL raise, XX internal
  error, ..., and client-side data errors without a SQLSTATE (e.g. a NUL byte psycopg cannot
  send).

The reason kept with a dead letter names the SQLSTATE and the server's message.
"""

from __future__ import annotations

import psycopg
from psycopg_pool import PoolTimeout

from pulse.errors import PulseError, Retryable, Unstorable

RETRYABLE_CLASSES = frozenset({"08", "53", "58"})
RETRYABLE_STATES = frozenset({"57P01", "57P02", "57P03", "57014", "40001", "40P01", "55P03"})


def is_retryable(exc: BaseException) -> bool:
    """True when ``exc`` says the database is unavailable (retry), False when it refused the
    data for good."""
    if isinstance(exc, PoolTimeout):
        return True
    state = getattr(exc, "sqlstate", None)
    if state:
        return state in RETRYABLE_STATES or state[:2] in RETRYABLE_CLASSES
    # no SQLSTATE: the server did not answer (connection lost, closed, never made), unless
    # psycopg itself refused the data before sending it
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))


def reason(exc: BaseException) -> str:
    """``SQLSTATE 54000 (ProgramLimitExceeded): index row size ...`` - for logs and dead letters."""
    state = getattr(exc, "sqlstate", None)
    head = f"SQLSTATE {state}" if state else "no SQLSTATE"
    return f"{head} ({type(exc).__name__}): {str(exc).strip()}"


def classify(exc: BaseException) -> PulseError:
    """The error kind for a database failure: ``Retryable`` or ``Unstorable``."""
    if is_retryable(exc):
        return Retryable(f"database unavailable: {reason(exc)}")
    return Unstorable(reason(exc))
