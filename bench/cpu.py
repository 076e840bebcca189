"""CPU per request, in-process: a scenario's requests through an ASGI app, one at a time.

`python -m bench.cpu --scenarios bare_debit,mor_debit,charge` seeds a small SQLite database
(`--accounts`, default 3,000 users; or `--database-url` for PostgreSQL, which must be empty),
then for each scenario sends `--requests` of its requests straight to the app (no socket, no
wrk) and prints the process CPU time per request. One request at a time, so there is no
queueing and no other thread wants the GIL: on a machine others load too, this moves far
less than `make bench`'s req/s, and it says what the work costs, not how it scales.
The answers are checked against the scenario's success pattern (its Lua pattern, read as a
regular expression after the `%s` classes are translated).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import layout, scenarios
from bench.seed import seed
from bench.wrk import Request

# Which app serves a scenario in-process: a baseline module's `app`, or the service.
_APPS = {scenarios.BARE: "bench.baseline_bare", scenarios.BARE_DEBIT: "bench.baseline_debit"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__)
    parser.add_argument("--scenarios", default="bare_debit,mor_debit,charge")
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    wanted = {s.name: s for s in scenarios.SCENARIOS}
    names = [n for n in args.scenarios.split(",") if n]
    unknown = [n for n in names if n not in wanted]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    lay = layout.Layout.for_users(args.accounts, quick=True)
    with _database(args.database_url) as url:
        seed(url, lay)
        os.environ.update(SMSACCOUNTS_DATABASE_URL=url, BENCH_DATABASE_URL=url,
                          SMSACCOUNTS_RATE_LIMIT="1000000/second",
                          SMSACCOUNTS_LOG_LEVEL="warning")  # fmt: skip
        for name in names:
            scenario = wanted[name]
            requests = list(scenario.requests(lay))
            cpu, failed = asyncio.run(_measure(_app(scenario.server), requests, args.requests,
                                               _pattern(scenario.check)))  # fmt: skip
            note = f"  ({failed} answers did not match)" if failed else ""
            print(f"{name:20} {cpu * 1e6:8.0f} µs CPU a request{note}", flush=True)


@contextlib.contextmanager
def _database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'cpu.db'}"


def _app(server: str) -> Any:
    module = _APPS.get(server)
    if module is not None:
        return importlib.import_module(module).app
    from smsaccounts.app import create_app

    return create_app(deliver_sms=False)


def _pattern(check: str) -> re.Pattern[bytes]:
    return re.compile(check.replace("%s", r"\s").encode())


async def _measure(
    app: Any, requests: list[Request], count: int, ok: re.Pattern[bytes]
) -> tuple[float, int]:
    async with _lifespan(app):
        for request in requests[:50]:  # warm caches and connections
            await _call(app, request, 0)
        failed = 0
        started = time.process_time()
        for i in range(count):
            status, body = await _call(app, requests[i % len(requests)], i + 1)
            failed += not (200 <= status < 300 and ok.search(body))
        return (time.process_time() - started) / count, failed


@contextlib.asynccontextmanager
async def _lifespan(app: Any) -> Any:
    started, stopping = asyncio.Event(), asyncio.Event()
    messages = [{"type": "lifespan.startup"}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await stopping.wait()
        return {"type": "lifespan.shutdown"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}},
                                   receive, send))  # fmt: skip
    await started.wait()
    try:
        yield
    finally:
        stopping.set()
        with contextlib.suppress(Exception):
            await task


async def _call(app: Any, request: Request, seq: int) -> tuple[int, bytes]:
    path, _, query = request.path.partition("?")
    body = request.body.replace("{seq}", f"cpu-{seq}-{time.monotonic_ns()}").encode()
    headers = [(b"host", b"127.0.0.1")]
    if request.content_type:
        headers.append((b"content-type", request.content_type.encode()))
    if request.authorization:
        headers.append((b"authorization", request.authorization.encode()))
    headers.append((b"content-length", str(len(body)).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": request.method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": query.encode(), "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8080)}  # fmt: skip
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status, chunks = 0, []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


if __name__ == "__main__":
    main()
