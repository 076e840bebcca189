"""`smsaccounts serve --workers 2` with metrics on a port of their own: one scrape of that
port adds up what both worker processes counted (prometheus_client's multiprocess mode,
set up by `serve`), and the API's port serves no /metrics."""

from __future__ import annotations

import http.client
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import Serve, free_port

REQUESTS = 20


def _scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _pids(values: Path) -> set[str]:
    return {path.stem.rpartition("_")[2] for path in values.glob("counter_*.db")}


def _status(port: int, path: str) -> int:
    """GET on a connection of its own (so that both workers take some of them)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.only_backend("sqlite")
def test_two_workers_are_scraped_as_one_on_the_metrics_port(db_url: str, tmp_path: Path) -> None:
    port, values = free_port(), tmp_path / "metrics"
    values.mkdir()
    env = {"SMSACCOUNTS_DATABASE_URL": db_url, "SMSACCOUNTS_METRICS": str(port),
           "PROMETHEUS_MULTIPROC_DIR": str(values)}  # fmt: skip
    server = Serve(env, tmp_path / "serve.log", workers=2)
    try:
        server.start()
        for _ in range(REQUESTS):
            assert _status(server.port, "/v2/ping.json") == 401
        labels = {"dialect": "link", "operation": "ping", "status": "401", "result": "401"}
        key = ("smsaccounts_request_duration_seconds_count", frozenset(labels.items()))
        # A request is counted just after its answer is sent: the last one may still be
        # on its way to the count when the client has its answer (a hang guard, no timing).
        deadline = time.monotonic() + 30
        samples = _scrape(port)
        while samples.get(key, 0) < REQUESTS and time.monotonic() < deadline:
            time.sleep(0.05)
            samples = _scrape(port)
        assert samples[key] == REQUESTS, samples
        assert _status(server.port, "/metrics") == 404
        # Both worker processes write their values there (one file per kind and pid), the
        # second perhaps only once it has started: wait for it (a hang guard, no timing).
        deadline = time.monotonic() + 60
        while len(_pids(values)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_pids(values)) == 2, server.tail()
    finally:
        server.stop()
