"""Prometheus metrics (prometheus_client): what every worker counts, and how they are read.

`SMSACCOUNTS_METRICS` decides where they are served: `off` (the default: nowhere), `on`
(`GET /metrics` on the API's own port) or a port number (a separate listener that
`smsaccounts serve` starts, to keep metrics off the public port). With several worker
processes `serve` points `PROMETHEUS_MULTIPROC_DIR` at a directory the workers write their
values to, and every scrape adds them up (prometheus_client's multiprocess mode).

Requests are counted by one histogram observation in the pipeline's access-log point: its
`_count` is the number of requests by dialect, operation, HTTP status and result code, its
buckets their latency. Everything else is a counter bumped where the thing happens.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Histogram(
    "smsaccounts_request_duration_seconds",
    "Requests by dialect, operation, HTTP status and result code (_count), and their latency",
    ["dialect", "operation", "status", "result"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WALLET_CHANGES = Counter(
    "smsaccounts_wallet_changes_total",
    "Wallet changes written (one ledger row each) by asset and direction",
    ["asset", "direction"],
)
LOCKOUTS = Counter(
    "smsaccounts_lockouts_total",
    "Accounts whose logins a wrong password blocked, by the kind of login name "
    "(msisdn: mysms, user: LINK, reseller, mor)",
    ["door"],
)
CHARGED_PARTS = Counter(
    "smsaccounts_charged_parts_total",
    "Message parts charged, by what paid them (free_sms, credits, balance)",
    ["asset"],
)
REFUNDED_PARTS = Counter(
    "smsaccounts_refunded_parts_total",
    "Message parts refunded, by what was given back (free_sms, credits, balance)",
    ["asset"],
)
RATE_LIMITED = Counter(
    "smsaccounts_rate_limited_total", "Requests refused by the rate limit", ["scope"]
)
OUTBOX_DEPTH = Gauge(
    "smsaccounts_outbox_depth",
    "SMS waiting to go out (queued or being sent), as the last worker pass saw it",
    multiprocess_mode="mostrecent",
)
OUTBOX_DELIVERIES = Counter("smsaccounts_outbox_deliveries_total", "SMS handed to the transport")
OUTBOX_FAILURES = Counter(
    "smsaccounts_outbox_failures_total",
    "SMS deliveries that failed (final: given up after the last attempt)",
    ["final"],
)
DATABASE_ERRORS = Counter(
    "smsaccounts_database_errors_total", "Database calls that failed as an outage"
)
REDIS_ERRORS = Counter("smsaccounts_redis_errors_total", "Rate-limit calls Redis did not answer")

_children: dict[tuple[str, str, int, str], Any] = {}


def observe_request(dialect: str, operation: str, status: int, result: str, seconds: float) -> None:
    """One observation per request; the labelled child is looked up once per label set."""
    key = (dialect, operation, status, result)
    child = _children.get(key)
    if child is None:
        child = _children[key] = REQUESTS.labels(dialect, operation, str(status), result)
    child.observe(seconds)


def port_of(setting: str) -> int | None:
    """The separate listener's port when `SMSACCOUNTS_METRICS` is a number, else None."""
    return int(setting) if setting.isdigit() else None


def registry() -> CollectorRegistry:
    """What a scrape reads: every worker's files in multiprocess mode, else this process."""
    if not os.environ.get(MULTIPROC_ENV):
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
    return collected


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets, and its content type."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def prepare_multiprocess(workers: int) -> str | None:
    """Before uvicorn starts several workers: a directory for their values, emptied (an
    operator's `PROMETHEUS_MULTIPROC_DIR`, else a new temporary one), exported to them.
    Returns the directory when it made one (`remove_directory` once serving ends)."""
    if workers <= 1 and not os.environ.get(MULTIPROC_ENV):
        return None
    given = os.environ.get(MULTIPROC_ENV)
    path = given or tempfile.mkdtemp(prefix="smsaccounts-metrics-")
    for entry in os.scandir(path):
        if entry.is_file() and entry.name.endswith(".db"):
            os.unlink(entry.path)  # a previous run's values would be added to this one's
    os.environ[MULTIPROC_ENV] = path
    return None if given else path


def listen(port: int, host: str) -> None:
    """The separate metrics listener (a thread of the `serve` process)."""
    start_http_server(port, addr=host, registry=registry())


def remove_directory(path: str | None) -> None:
    if path:
        shutil.rmtree(path, ignore_errors=True)
