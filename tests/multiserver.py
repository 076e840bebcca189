"""SMSACCOUNTS_TEST_SERVERS=N: the API tests' requests spread over N `smsaccounts serve`
processes (own ports, one PostgreSQL database, one Redis) instead of one in-process app.

`make_http` and `client` (tests/conftest.py) hand out a `RoundRobin` client with the
TestClient interface the tests use: each request goes to the next server. Servers are
started per set of settings a test asks for, and kept for the next test that asks the
same; the client's address reaches them as X-Forwarded-For from a trusted loopback proxy,
so per-IP rules see the address the test chose. Whatever a worker kept in its memory
between requests would show up as a failure here: shared state lives in the database or
Redis.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from smsaccounts.config import PREFIX, Settings
from tests.servers import Serve

COUNT = int(os.environ.get("SMSACCOUNTS_TEST_SERVERS", "0") or 0)
REDIS_URL = os.environ.get("SMSACCOUNTS_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
KEEP = 2  # sets of servers kept running at once (each set is COUNT processes)
# Fixtures that patch or watch the app inside the test's process: their tests are skipped.
IN_PROCESS_FIXTURES = frozenset({"monkeypatch", "captured_logs", "statements"})
# Tests that move the test's clock (the servers read the real one) or capture its log.
moves_clock = pytest.mark.in_process("moves the test's clock; the servers read the real time")
reads_logs = pytest.mark.in_process("reads the log of the app in the test's process")


def environment(settings: Settings) -> dict[str, str]:
    """`settings` as the SMSACCOUNTS_* environment of a server (defaults left out)."""
    env = {}
    defaults = Settings()
    for field in dataclasses.fields(Settings):
        value = getattr(settings, field.name)
        if value == getattr(defaults, field.name):
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, frozenset):
            text = ",".join(sorted(value))
        else:
            text = str(value)
        env[PREFIX + field.name.upper()] = text
    return env


class Pool:
    """Sets of running servers, one per distinct settings, the least recently used stopped."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.sets: OrderedDict[tuple[tuple[str, str], ...], list[Serve]] = OrderedDict()

    def servers(self, settings: Settings) -> list[Serve]:
        env = {
            **environment(settings),
            "SMSACCOUNTS_REDIS_URL": REDIS_URL,
            "SMSACCOUNTS_TRUSTED_PROXIES": "127.0.0.1",
            "SMSACCOUNTS_SMS_TRANSPORT": "log",
            # The tests read PINs from the outbox, as in-process apps that deliver nothing:
            # the servers' workers look once at start-up, then not for a day.
            "SMSACCOUNTS_OUTBOX_POLL_SECONDS": "86400",
            "SMSACCOUNTS_LOG_LEVEL": "warning",
        }
        key = tuple(sorted(env.items()))
        if key in self.sets:
            self.sets.move_to_end(key)
            return self.sets[key]
        while len(self.sets) >= KEEP:
            for server in self.sets.popitem(last=False)[1]:
                server.stop()
        log = self.logs / f"servers-{len(os.listdir(self.logs))}.log"
        started = [Serve(env, log).start(wait=False) for _ in range(COUNT)]
        for server in started:
            server.wait_ready()
        self.sets[key] = started
        return started

    def close(self) -> None:
        for servers in self.sets.values():
            for server in servers:
                server.stop()
        self.sets.clear()


class RoundRobin:
    """The TestClient surface the API tests use, each request to the next server."""

    def __init__(self, servers: list[Serve], ip: str | None) -> None:
        self.clients = [httpx.Client(base_url=s.base, timeout=30.0) for s in servers]
        self.next = itertools.cycle(self.clients)
        self.headers = {"x-forwarded-for": ip} if ip else {}

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **(kwargs.pop("headers", None) or {})}
        return next(self.next).request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("HEAD", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("OPTIONS", url, **kwargs)

    def __enter__(self) -> RoundRobin:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        for client in self.clients:
            client.close()


def flush_redis() -> None:
    """Every test starts with no rate-limit counts (the servers share one Redis db)."""
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
