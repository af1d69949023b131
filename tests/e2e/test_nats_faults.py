"""Scale-out on NATS JetStream (issue 14), fault tests with exact-count oracles: real
``pulse-bridge serve`` nodes (``--role ingest`` / ``--role writer``) on one database, a real
``nats-server -js`` per test (a 3-node cluster for replication), ``kill -9`` for crashes. The
oracle is the set of span ids the clients got a 202 for, compared with ``pulse.spans``:
every acknowledged span stored, and stored exactly once (docs/architecture.md#deployment)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import httpx
import nats
import pytest

from tests.support.nats_nodes import (
    Node,
    Sender,
    create_database,
    drop_database,
    stored_span_ids,
    wait_stored,
    wait_until,
)
from tests.support.nats_server import NatsCluster, NatsServer


@pytest.fixture
def database():
    url = create_database("pulse_nats")
    yield url
    drop_database(url)


def assert_exactly_once(database_url: str, acked: list[str]) -> None:
    assert len(acked) == len(set(acked))
    seen = wait_stored(database_url, set(acked))
    missing = set(acked) - set(seen)
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged spans lost"
    twice = [s for s, n in Counter(seen).items() if n > 1]
    assert not twice, f"{len(twice)} spans stored more than once"


def senders_for(nodes: list[Node], key: str, per_node: int = 2) -> list[Sender]:
    out = [Sender(n.url, key) for n in nodes for _ in range(per_node)]
    for s in out:
        s.start()
    return out


def acked(senders: list[Sender]) -> list[str]:
    return [span for s in senders for span in s.acked]


@pytest.mark.parametrize("victim", ["ingest", "writer"])
def test_kill_9_of_a_node_loses_nothing_acknowledged(victim, database, tmp_path):
    """Two ingest nodes and one writer; ``kill -9`` of one ingest node mid-stream, or of the
    writer mid-batch (it holds un-acked entries), then the node restarts."""
    nats = NatsServer(tmp_path / "nats")
    stream = f"S{uuid.uuid4().hex[:10]}"
    nodes: list[Node] = []
    try:
        writer = Node("writer", database, nats.url, stream, tmp_path / "w")
        nodes.append(writer)
        key = writer.key
        assert key, "the first node creates the default project"
        ingest_a = Node("ingest", database, nats.url, stream, tmp_path / "a")
        ingest_b = Node("ingest", database, nats.url, stream, tmp_path / "b")
        nodes += [ingest_a, ingest_b]
        on_a, on_b = senders_for([ingest_a], key), senders_for([ingest_b], key)
        senders = on_a + on_b
        assert wait_until(lambda: len(acked(senders)) >= 2000, 60)

        if victim == "ingest":
            ingest_a.kill9()  # mid-stream: its senders see the connection die
            for s in on_a:
                s.join(30)
            assert all(s.died for s in on_a)
            before = len(acked(on_b))
            assert wait_until(lambda: len(acked(on_b)) >= before + 1000, 60), "B stopped too"
            ingest_a = Node("ingest", database, nats.url, stream, tmp_path / "a",
                            port=ingest_a.port)  # restarted: takes requests again
            nodes.append(ingest_a)
            again = senders_for([ingest_a], key, per_node=1)
            senders += again
            assert wait_until(lambda: len(acked(again)) >= 500, 60)
        else:
            assert wait_until(lambda: len(stored_span_ids(database)) > 0, 30)
            writer.kill9()  # mid-batch: its held entries are redelivered after ack_wait
            more = len(acked(senders))
            assert wait_until(lambda: len(acked(senders)) >= more + 1000, 60), \
                "ingest must not depend on a writer"
            writer = Node("writer", database, nats.url, stream, tmp_path / "w2")
            nodes.append(writer)
        for s in senders:
            s.stop()

        every = acked(senders)
        assert [e for s in senders for e in s.errors] == []
        assert len(every) >= 3000
        assert_exactly_once(database, every)
        for ingest in (ingest_a, ingest_b):  # no local state on ingest nodes
            assert not ingest.data_dir.exists()
        metrics = httpx.get(writer.url + "/metrics").text
        assert "pulse_nats_consumer_pending" in metrics
    finally:
        for n in nodes:
            n.stop()
        nats.stop()


def test_nats_stopped_during_ingest_answers_503_and_loses_nothing(database, tmp_path):
    nats = NatsServer(tmp_path / "nats")
    stream = f"S{uuid.uuid4().hex[:10]}"
    nodes: list[Node] = []
    try:
        writer = Node("writer", database, nats.url, stream, tmp_path / "w")
        ingest = Node("ingest", database, nats.url, stream, tmp_path / "i")
        nodes += [writer, ingest]
        senders = senders_for([ingest], writer.key)
        assert wait_until(lambda: len(acked(senders)) >= 1000, 60)

        nats.stop()
        assert wait_until(lambda: sum(len(s.refused) for s in senders) >= 20, 30), \
            "no 503 while NATS is down"
        ready = httpx.get(ingest.url + "/health/ready")
        assert ready.status_code == 503 and "NATS" in ready.text
        during = len(acked(senders))
        time.sleep(1)
        assert len(acked(senders)) == during, "acknowledged while NATS was down"

        nats.start()
        assert wait_until(lambda: len(acked(senders)) >= during + 1000, 60), "did not resume"
        for s in senders:
            s.stop()
        assert [e for s in senders for e in s.errors] == []  # no 500, no hang
        assert all(s.retry_after_missing == 0 for s in senders)
        assert_exactly_once(database, acked(senders))
    finally:
        for n in nodes:
            n.stop()
        nats.stop()


async def stream_placement(url: str, stream: str) -> tuple[int, str]:
    """The stream's configured replicas and the name of its current leader."""
    nc = await nats.connect(servers=url.split(","))
    try:
        info = await nc.jetstream().stream_info(stream)
        return info.config.num_replicas, info.cluster.leader
    finally:
        await nc.close()


def test_a_three_node_cluster_survives_a_killed_node(database, tmp_path):
    cluster = NatsCluster(tmp_path / "cluster")
    stream = f"S{uuid.uuid4().hex[:10]}"
    nodes: list[Node] = []
    try:
        # the stream is created with replicas 3 once the cluster has formed
        replicas = {"PULSE_NATS_REPLICAS": "3"}
        writer = None
        for _ in range(40):
            try:
                writer = Node("writer", database, cluster.url, stream, tmp_path / "w",
                              ack_wait_s=5, extra_env=replicas)
                break
            except pytest.fail.Exception:
                time.sleep(0.5)
        assert writer is not None
        nodes.append(writer)
        ingest = Node("ingest", database, cluster.url, stream, tmp_path / "i",
                      extra_env=replicas)
        nodes.append(ingest)
        senders = senders_for([ingest], writer.key)
        assert wait_until(lambda: len(acked(senders)) >= 1000, 60)

        replicas_now, leader = asyncio.run(stream_placement(cluster.url, stream))
        assert replicas_now == 3
        victim = next(n for n in cluster.nodes if n.name == leader)
        victim.kill()  # kill -9 of the stream's leader during ingest
        before = len(acked(senders))
        assert wait_until(lambda: len(acked(senders)) >= before + 1000, 90), \
            "ingest did not continue on the two remaining nodes"
        for s in senders:
            s.stop()
        assert [e for s in senders for e in s.errors] == []
        assert_exactly_once(database, acked(senders))
    finally:
        for n in nodes:
            n.stop()
        cluster.stop()
