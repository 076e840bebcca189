"""The one request cycle under every dialect: read, decode, limit, authenticate and run the
use case, map an error by the dialect's table, encode, and write one access log line.

A dialect plugs in as a `Dialect`: its mounts, its operations (decode, run, encode), and
`fail`, which renders any `DomainError` through its exhaustive `ErrorCode` table. Whatever
goes wrong, the client gets the dialect's own shape: an unreadable body (RecursionError
included) is its bad request, an unknown path or method under its mounts is its 404/405,
a bug is its internal error, and no traceback ever reaches a response.

Every operation is rate limited per client IP and per credential before anything else
runs, so a flood of made-up logins never reaches a password hash.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import secrets
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from smsaccounts import logs, metrics
from smsaccounts.dialects import wire
from smsaccounts.domain.network import parse_ranges
from smsaccounts.errors import BadRequest, DomainError, ErrorCode
from smsaccounts.ratelimit import RateLimiter
from smsaccounts.services import audit
from smsaccounts.storage.database import WriterBusy
from smsaccounts.storage.unit_of_work import UnitOfWork

C = TypeVar("C")  # an operation's decoded command
R = TypeVar("R")  # what its use case returns


@dataclasses.dataclass(slots=True)
class Call:
    """One request as every operation sees it; `caller_id` is learnt on authentication."""

    method: str
    path: str
    raw_headers: list[tuple[bytes, bytes]]
    query_string: bytes
    path_params: dict[str, Any]
    body: bytes
    client_ip: str | None
    allowed: tuple[str, ...] = ()  # the methods the route serves, for a 405's `Allow`
    _request_id: str | None = None

    @property
    def request_id(self) -> str:
        """A short random id, made when first asked for (a log line, a LINK refusal)."""
        if self._request_id is None:
            self._request_id = secrets.token_hex(4)
        return self._request_id

    def header(self, name: bytes) -> str | None:
        """The first header of that (lower-case) name."""
        for key, value in self.raw_headers:
            if key == name:
                return value.decode("latin-1")
        return None

    def headers(self, *names: bytes) -> list[str | None]:
        """The first header of each of those names, in one pass."""
        found: list[str | None] = [None] * len(names)
        for key, value in self.raw_headers:
            if key in names:
                index = names.index(key)
                if found[index] is None:
                    found[index] = value.decode("latin-1")
        return found

    @property
    def query(self) -> dict[str, str]:
        """Query parameters; a repeated name keeps its last value."""
        return dict(parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True))


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    """One complete HTTP answer."""

    status: int
    media_type: bytes
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()
    result: str = "ok"  # the dialect's own result code, for the access log only


@dataclasses.dataclass(frozen=True, slots=True)
class Operation(Generic[C, R]):
    """One route and method of a dialect: how to read it, run it and answer it.

    `credential` names what the request authenticates with (a key's hash, a login name),
    so that it is limited per credential as well as per IP. `run` is blocking work (a
    transaction, a password hash) and runs on a worker thread; `run_on_loop`, where given,
    is the same use case for a read the storage can answer on the event loop.
    """

    name: str
    decode: Callable[[Call], C | Awaitable[C]]
    run: Callable[[UnitOfWork, C, Call], R]
    encode: Callable[[Call, R], Reply]
    credential: Callable[[C], str | None] = lambda _command: None
    run_on_loop: Callable[[UnitOfWork, C, Call], Awaitable[R]] | None = None
    decodes_async: bool = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "decodes_async", inspect.iscoroutinefunction(self.decode))


@dataclasses.dataclass(frozen=True, slots=True)
class Dialect:
    """An API plugged into the pipeline.

    `routes` maps a path (relative to each mount, Starlette syntax) to its operations by
    method; `fail` renders an error for an operation (None: no route matched).
    """

    name: str
    mounts: tuple[str, ...]
    routes: Mapping[str, Mapping[str, Operation[Any, Any]]]
    fail: Callable[[Call, DomainError, str | None], Reply]


class Pipeline:
    """Serves every dialect's operations with the same limits, error mapping and logging."""

    def __init__(self, uow: UnitOfWork, limiter: RateLimiter) -> None:
        self.uow = uow
        self.limiter = limiter
        # Below the configured level an access line is not even built (warnings and errors
        # always are).
        self.access_lines = logs.level_of(uow.settings.log_level) <= logging.INFO
        self.metrics = uow.settings.metrics.lower() != "off"
        try:
            self.trusted_proxies = parse_ranges(uow.settings.trusted_proxies)
        except ValueError as error:
            raise ValueError(f"SMSACCOUNTS_TRUSTED_PROXIES: {error}") from None

    def routes(self, dialect: Dialect) -> list[BaseRoute]:
        """One Mount per mount point; anything else under it answers in the dialect's shape."""
        unknown = self.unknown(dialect)
        return [
            Mount(
                mount,
                app=Router(list(self._routes(dialect)), redirect_slashes=False, default=unknown),
            )
            for mount in dialect.mounts
        ]

    def _routes(self, dialect: Dialect) -> Iterator[Route]:
        for path, by_method in dialect.routes.items():
            yield Route(path, _Endpoint(self, dialect, by_method), methods=None)

    def unknown(self, dialect: Dialect) -> ASGIApp:
        """The answer to a path under the dialect's mounts that it does not serve."""
        return _Endpoint(self, dialect, {})

    def fallback(self, dialects: Iterable[Dialect], default: ASGIApp) -> ASGIApp:
        """For the app's router: a path no route matched (a route's pattern never matches
        a line break) answers in the shape of the dialect whose mount it is under."""
        under = [(f"{mount}/", self.unknown(d)) for d in dialects for mount in d.mounts]

        async def route(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "")
            for prefix, app in under:
                if path.startswith(prefix):
                    await app(scope, receive, send)
                    return
            await default(scope, receive, send)

        return route

    async def serve(
        self, dialect: Dialect, by_method: Mapping[str, Operation[Any, Any]],
        scope: Scope, receive: Receive, send: Send,
    ) -> None:  # fmt: skip
        started = time.perf_counter()
        body = await wire.read_body(receive)
        if body is None:  # the client went away
            return
        client_ip = wire.client_ip(scope, self.trusted_proxies)
        call = Call(scope["method"], scope["path"], scope["headers"], scope["query_string"],
                    scope.get("path_params", {}), body, client_ip, tuple(by_method))  # fmt: skip
        op = by_method.get(call.method)
        if op is None and call.method == "HEAD":
            op = by_method.get("GET")  # HEAD is answered as the GET
        # Who called is learnt for the access line only; without one, nothing is kept.
        caller = logs.caller_slot() if self.access_lines else _NOBODY
        audit.begin(dialect.name, call.client_ip)  # the door of every change this call makes
        event, level, extra = f"{dialect.name} request", "info", {}
        try:
            if op is None:
                reply = dialect.fail(call, _no_route(by_method), None)
            else:
                reply = await self._answer(op, call)
        except DomainError as error:
            reply = dialect.fail(call, error, op.name if op else None)
            if error.code is ErrorCode.UNAVAILABLE:  # an outage: logged with its cause
                event, level = f"{dialect.name}: dependency unavailable", "warning"
                extra = _cause(error)
        except Exception as error:  # noqa: BLE001 - every failure answers in the dialect's shape
            reply = dialect.fail(
                call, DomainError(code=ErrorCode.INTERNAL), op.name if op else None
            )
            # Type and frames only: an exception's message may quote SQL parameters or secrets.
            event, level = f"{dialect.name}: unexpected error", "error"
            extra = {"error": type(error).__name__,
                     "frames": "".join(traceback.format_tb(error.__traceback__))}  # fmt: skip
        await _send(send, reply)
        if self.metrics:
            metrics.observe_request(dialect.name, op.name if op else "none", reply.status,
                                    reply.result, time.perf_counter() - started)  # fmt: skip
        if level == "info":
            if reply.status >= 500:  # a 5xx that is neither an outage nor a bug: still loud
                level = "error"
            elif not self.access_lines:
                return
        # A logger per request, not a cached one: its configuration may change at run time
        # (tests capture it).
        getattr(structlog.get_logger(__name__), level)(
            event, request_id=call.request_id, dialect=dialect.name,
            operation=op.name if op else None, method=call.method, path=call.path,
            status=reply.status, result=reply.result, client_ip=call.client_ip,
            caller_id=caller.account_id,
            duration_ms=round((time.perf_counter() - started) * 1000, 2), **extra,
        )  # fmt: skip

    async def _answer(self, op: Operation[Any, Any], call: Call) -> Reply:
        try:
            command = op.decode(call)
            if op.decodes_async:  # a decoder that may read a multipart form
                command = await command
        except DomainError:
            raise
        except Exception as error:
            raise BadRequest(f"the request cannot be read: {type(error).__name__}") from error
        if op.run_on_loop is not None and not self.limiter.blocking:
            self._limit(op, command, call)
            result = await op.run_on_loop(self.uow, command, call)
        else:
            result = await run_in_threadpool(self._limit_and_run, op, command, call)
        return op.encode(call, result)

    def _limit(self, op: Operation[Any, Any], command: Any, call: Call) -> None:
        self.limiter.hit("ip", call.client_ip or "unknown")
        credential = op.credential(command)
        if credential:
            self.limiter.hit("credential", credential)

    def _limit_and_run(self, op: Operation[Any, R], command: Any, call: Call) -> R:
        self._limit(op, command, call)
        return op.run(self.uow, command, call)


_NOBODY = logs.CallerSlot()


# While a worker thread or another process holds SQLite's write lock, a grouped write tries
# again this often, this long, before it goes to a worker thread to wait there. Going at once
# kept it there: each debit sent to a thread held the lock, so the next found it held too, and
# under load every debit ran on a thread, one commit each (py-spy: half the samples).
_GROUP_WAIT = 0.001
_GROUP_TRIES = 50


def writes_on_loop(
    run: Callable[[UnitOfWork, C, Call], R], *, when: Callable[[C], bool] = lambda _c: True
) -> Callable[[UnitOfWork, C, Call], Awaitable[R]]:
    """`run_on_loop` for a use case that writes (and hashes no password: `when` says so).

    Where the storage groups writes (SQLite: `UnitOfWork.grouped`), it runs on the event
    loop, its writes inside the transaction shared by the requests of this loop turn, and
    it is answered once that transaction has committed: one sync to disk for the group, no
    hop to a worker thread and back. While a worker thread or another process holds
    SQLite's write lock it tries again shortly, without blocking the loop, and after
    `_GROUP_TRIES` it runs on a worker thread, as it does on a database server.
    """

    async def on_loop(uow: UnitOfWork, command: C, call: Call) -> R:
        if uow.groups_writes and when(command):
            for _attempt in range(_GROUP_TRIES):
                ticket = None
                try:
                    with uow.grouped() as ticket:
                        result = run(uow, command, call)
                except WriterBusy:
                    assert ticket is not None
                    assert ticket.group is None  # nothing was written: it may run again
                    await asyncio.sleep(_GROUP_WAIT)  # the loop serves others meanwhile
                    continue
                except BaseException:
                    if ticket is not None and ticket.group is not None:
                        await asyncio.shield(ticket.group.done)  # its writes, if any, are kept
                    raise
                if ticket.group is not None:
                    await asyncio.shield(ticket.group.done)
                return result
        if uow.awaits_writes and when(command):
            return await uow.writes_on_loop(run, uow, command, call)
        return await run_in_threadpool(run, uow, command, call)

    return on_loop


def reads_on_loop(
    run: Callable[[UnitOfWork, C, Call], R],
    *,
    when: Callable[[C], bool],
    lookups_only: bool = False,
) -> Callable[[UnitOfWork, C, Call], Awaitable[R]]:
    """`run_on_loop` for a use case that only reads when `when` says so (no write, no
    password hash: a request authenticated by a key, not a password): `uow.run_reads` runs
    it inline where the storage's reads never wait (SQLite); otherwise a worker thread.
    With `lookups_only` (its reads are all `uow.lookups()`), `uow.reads_on_loop` runs it,
    which also awaits those reads on the event loop on PostgreSQL."""

    async def on_loop(uow: UnitOfWork, command: C, call: Call) -> R:
        if when(command):
            if lookups_only:
                return await uow.reads_on_loop(run, uow, command, call)
            return await uow.run_reads(run, uow, command, call)
        return await run_in_threadpool(run, uow, command, call)

    return on_loop


class _Endpoint:
    """A path's operations as a plain ASGI app (the app finds exact paths in one lookup)."""

    def __init__(
        self, pipeline: Pipeline, dialect: Dialect, by_method: Mapping[str, Operation[Any, Any]]
    ) -> None:
        self.pipeline, self.dialect, self.by_method = pipeline, dialect, by_method
        self.methods = tuple(by_method)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.pipeline.serve(self.dialect, self.by_method, scope, receive, send)


def _no_route(by_method: Mapping[str, Operation[Any, Any]]) -> DomainError:
    if by_method:
        return BadRequest("method not allowed", code=ErrorCode.METHOD_NOT_ALLOWED)
    return BadRequest("no such resource", code=ErrorCode.ROUTE_NOT_FOUND)


def allow_header(call: Call, error: DomainError) -> tuple[tuple[bytes, bytes], ...]:
    """`Allow` for a 405 (the route's methods); dialects add it to their reply."""
    if error.code is not ErrorCode.METHOD_NOT_ALLOWED or not call.allowed:
        return ()
    methods = [*call.allowed, "HEAD"] if "GET" in call.allowed else list(call.allowed)
    return ((b"allow", ", ".join(methods).encode()),)


def retry_after_header(error: DomainError) -> tuple[tuple[bytes, bytes], ...]:
    """`Retry-After` in whole seconds (at least 1) for a rate-limited request."""
    if error.code is not ErrorCode.RATE_LIMITED:
        return ()
    return ((b"retry-after", b"%d" % max(1, round(error.retry_after or 1))),)


async def _send(send: Send, reply: Reply) -> None:
    headers = [
        (b"content-type", reply.media_type),
        (b"content-length", b"%d" % len(reply.body)),
        *reply.headers,
    ]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


def _cause(error: DomainError) -> dict[str, Any]:
    cause = error.__cause__
    return {"error": error.message, "cause": type(cause).__name__ if cause else None,
            "detail": _first_line(cause)}  # fmt: skip


def _first_line(cause: BaseException | None) -> str | None:
    """The first line of a driver's message (SQLAlchemy puts SQL and parameters after it)."""
    if cause is None:
        return None
    original = getattr(cause, "orig", None) or cause
    return str(original).strip().split("\n", 1)[0][:300]
