"""Error classification by SQLSTATE (issue 11), each class injected against the real database.

A trigger on ``pulse.traces`` raises a chosen SQLSTATE (``RAISE ... USING ERRCODE``) for rows
whose ``model_requested`` names it; a sequence lets it raise only the first N times. Oracles:

* permanent classes (22, 23, 42, 54, P0, XX): the bad record is dead-lettered once with the
  SQLSTATE in its reason, every good record of its batch lands, nothing is retried forever;
* retryable states (08, 53, 57P01, 40001, 40P01, ...): the writer keeps the batch and retries;
  once the error stops, everything lands and nothing is dead-lettered;
* a "retryable" error that never stops while the database answers: after ``max_attempts`` the
  batch is bisected and the record is dead-lettered; the rest lands.
"""

from __future__ import annotations

import contextlib
import random
import string
import uuid
from dataclasses import replace

import psycopg
import pytest

from pulse.main import storage_functions
from pulse.pipeline import IngestMetrics, WriterLoop, codec
from pulse.queue import FileQueue
from pulse.storage import sqlstate, writer
from tests.conftest import make_project
from tests.pipeline.test_writer_loop_faults import drain, good_trace, rows

MARK = "pulse-test-raise:"


@contextlib.asynccontextmanager
async def raising_trigger(pool, times: int):
    """Rows with model_requested 'pulse-test-raise:<STATE>' raise <STATE>, the first ``times``
    times (a sequence: it counts across rolled-back transactions)."""
    tag = uuid.uuid4().hex[:8]
    fn, seq = f"pulse.test_raise_{tag}", f"pulse.test_raise_seq_{tag}"
    async with pool.connection() as conn:
        await conn.execute(f"CREATE SEQUENCE {seq}")
        await conn.execute(f"""
            CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.model_requested LIKE '{MARK}%' AND nextval('{seq}') <= {times} THEN
                    RAISE EXCEPTION 'injected failure %', NEW.model_requested
                        USING ERRCODE = substr(NEW.model_requested, {len(MARK) + 1}, 5);
                END IF;
                RETURN NEW;
            END $$""")
        await conn.execute(f"CREATE TRIGGER test_raise_{tag} BEFORE INSERT ON pulse.traces"
                           f" FOR EACH ROW EXECUTE FUNCTION {fn}()")
    try:
        yield
    finally:
        async with pool.connection() as conn:
            await conn.execute(f"DROP TRIGGER test_raise_{tag} ON pulse.traces")
            await conn.execute(f"DROP FUNCTION {fn}()")
            await conn.execute(f"DROP SEQUENCE {seq}")


def loop_for(queue, pool, metrics, max_attempts: int = 5) -> WriterLoop:
    return WriterLoop(queue, storage_functions(pool), metrics, linger_s=0.01,
                      backoff_initial_s=0.01, backoff_max_s=0.05, max_attempts=max_attempts)


async def run_batch(pool, tmp_path, state: str, times: int, max_attempts: int = 5):
    """One queue entry of 5 good traces around one that raises ``state``; drain it."""
    project = await make_project(pool)
    good = [good_trace(i) for i in range(5)]
    bad = replace(good_trace(9), model_requested=f"{MARK}{state}")
    metrics = IngestMetrics()
    async with raising_trigger(pool, times), FileQueue(tmp_path / "q", max_bytes=1 << 24) as q:
        await q.append(codec.encode(project.id, good[:2] + [bad] + good[2:]))
        async with loop_for(q, pool, metrics, max_attempts):
            await drain(q, timeout=60)
    stored = await rows(pool, "SELECT trace_id FROM pulse.traces WHERE project_id = %s",
                        project.id)
    dead = await rows(pool, "SELECT kind, reason FROM pulse.dead_letters WHERE project_id = %s",
                      project.id)
    return {r[0] for r in stored}, good, bad, dead, metrics


PERMANENT = ["22023", "22P02", "23514", "23505", "42501", "42P01", "54000", "P0001", "XX000"]
RETRYABLE = ["08006", "08000", "53100", "53200", "53300", "57P01", "57P03", "57014",
             "40001", "40P01", "55P03", "58030"]


@pytest.mark.parametrize("state", PERMANENT)
async def test_a_permanent_sqlstate_dead_letters_the_record_and_the_rest_lands(
    pool, tmp_path, state
):
    stored, good, bad, dead, metrics = await run_batch(pool, tmp_path, state, times=1000)
    assert stored == {t.trace_id for t in good}
    assert len(dead) == 1
    assert dead[0][0] == "trace" and f"SQLSTATE {state}" in dead[0][1], dead
    assert "injected failure" in dead[0][1]
    assert metrics.write_retries._value.get() == 0  # refused for good: never retried


@pytest.mark.parametrize("state", RETRYABLE)
async def test_a_retryable_sqlstate_keeps_the_batch_until_it_lands(pool, tmp_path, state):
    # storage itself retries a deadlock a few times (writer.DEADLOCK_ATTEMPTS): raise it more
    # often than that so that the writer loop's retry is what gets the batch through
    times = writer.DEADLOCK_ATTEMPTS * 2 if state == "40P01" else 2
    stored, good, bad, dead, metrics = await run_batch(pool, tmp_path, state, times=times)
    assert stored == {t.trace_id for t in good} | {bad.trace_id}
    assert dead == []
    assert metrics.write_retries._value.get() == 2


async def test_a_batch_failing_n_times_while_the_database_answers_is_dead_lettered(
    pool, tmp_path
):
    # 40001 forever: classified retryable, but the database answers a ping, so after
    # max_attempts the batch is bisected and the record that still fails is dead-lettered
    stored, good, bad, dead, metrics = await run_batch(pool, tmp_path, "40001", times=10**6,
                                                       max_attempts=3)
    assert stored == {t.trace_id for t in good}
    assert len(dead) == 1
    assert "failed 3 times while the database answered" in dead[0][1]
    assert "SQLSTATE 40001" in dead[0][1]
    assert metrics.write_retries._value.get() >= 3


def test_errors_without_sqlstate():
    # the server never answered: retry; psycopg refused the data itself: permanent
    assert sqlstate.is_retryable(psycopg.OperationalError("connection lost"))
    assert sqlstate.is_retryable(psycopg.InterfaceError("connection closed"))
    assert not sqlstate.is_retryable(psycopg.DataError("NUL bytes"))
    assert not sqlstate.is_retryable(psycopg.ProgrammingError("bad query"))


async def test_undecodable_and_poison_entries_never_stall_the_next_entries(pool, tmp_path):
    """The 54000 of issue 11 defect 1 in the writer alone: a value the index cannot hold."""
    project = await make_project(pool)
    good = [good_trace(i) for i in range(3)]
    noise = random.Random(7)  # incompressible: PostgreSQL compresses index tuples
    huge = replace(good_trace(7), model_requested="".join(
        noise.choice(string.ascii_letters) for _ in range(3000)))
    metrics = IngestMetrics()
    async with FileQueue(tmp_path / "q", max_bytes=1 << 24) as q:
        await q.append(codec.encode(project.id, [huge]))
        await q.append(codec.encode(project.id, good))
        async with loop_for(q, pool, metrics):
            await drain(q, timeout=60)
    stored = await rows(pool, "SELECT trace_id, length(model_requested) FROM pulse.traces"
                              " WHERE project_id = %s", project.id)
    ids = {r[0] for r in stored}
    assert {t.trace_id for t in good} <= ids
    # the huge row is either stored with its model cut (storage guard) or dead-lettered
    dead = await rows(pool, "SELECT reason FROM pulse.dead_letters WHERE project_id = %s",
                      project.id)
    assert len(ids) + len(dead) == 4
    assert all(r[1] < 3000 for r in stored)


async def test_a_dead_letter_whose_payload_is_refused_keeps_its_head_and_reason(pool, tmp_path):
    # a trigger refuses big dead-letter payloads (54000): the writer keeps the payload's head
    project = await make_project(pool)
    tag = uuid.uuid4().hex[:8]
    fn = f"pulse.test_refuse_dl_{tag}"
    async with pool.connection() as conn:
        await conn.execute(f"""
            CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF length(NEW.payload) > 100000 THEN
                    RAISE EXCEPTION 'payload too big' USING ERRCODE = '54000';
                END IF;
                RETURN NEW;
            END $$""")
        await conn.execute(f"CREATE TRIGGER test_refuse_dl_{tag} BEFORE INSERT ON"
                           f" pulse.dead_letters FOR EACH ROW EXECUTE FUNCTION {fn}()")
    poison = replace(good_trace(3), status="bogus", request_body={"pad": "x" * 200_000})
    good = [good_trace(i) for i in range(3)]
    try:
        async with FileQueue(tmp_path / "q", max_bytes=1 << 24) as q:
            await q.append(codec.encode(project.id, [*good, poison]))
            async with loop_for(q, pool, IngestMetrics()):
                await drain(q, timeout=60)
    finally:
        async with pool.connection() as conn:
            await conn.execute(f"DROP TRIGGER test_refuse_dl_{tag} ON pulse.dead_letters")
            await conn.execute(f"DROP FUNCTION {fn}()")
    stored = await rows(pool, "SELECT trace_id FROM pulse.traces WHERE project_id = %s",
                        project.id)
    assert {r[0] for r in stored} == {t.trace_id for t in good}
    (dead,) = await rows(pool, "SELECT payload, reason FROM pulse.dead_letters"
                               " WHERE project_id = %s", project.id)
    assert dead[0].startswith('{"truncated_payload":') and len(dead[0]) < 100000
    assert "SQLSTATE 23514" in dead[1] and "payload cut: SQLSTATE 54000" in dead[1]
