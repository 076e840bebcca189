"""create_app(settings): every dialect's routes, /healthz, and the outbox worker's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import threading
from collections.abc import AsyncIterator

import structlog
from anyio import to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from smsaccounts import console, dialects, logs, metrics, openapi
from smsaccounts.config import Settings
from smsaccounts.health import Readiness
from smsaccounts.middleware import BodyLimit, ExactPaths
from smsaccounts.services import outbox
from smsaccounts.storage.unit_of_work import UnitOfWork, build
from smsaccounts.transports import Transport, make_channels, make_transport

log = structlog.get_logger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    uow: UnitOfWork | None = None,
    deliver_sms: bool = True,
) -> Starlette:
    """The ASGI app; `uvicorn --factory smsaccounts.app:create_app` reads the environment."""
    settings = settings or Settings.from_env()
    if settings.worker_threads < 1:
        raise ValueError("SMSACCOUNTS_WORKER_THREADS must be at least 1")
    logs.configure(settings)
    uow = uow or build(settings)
    transport = make_transport(settings)
    channels = make_channels(settings)  # alerts by webhook and e-mail

    async def healthz(_request: Request) -> JSONResponse:
        if await run_in_threadpool(uow.db.ping):
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable"}, status_code=503)

    async def metrics_page(_request: Request) -> Response:
        body, content_type = metrics.exposition()
        return Response(body, headers={"content-type": content_type})

    async def readyz(_request: Request) -> JSONResponse:
        failed = await run_in_threadpool(readiness.failed)
        if not failed:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "unavailable", "failed": failed}, status_code=503)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Every run_in_threadpool of this loop shares this many threads.
        to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        _freeze_startup_objects()
        stop = threading.Event()
        worker = (
            asyncio.create_task(_outbox_worker(uow, transport, channels, stop))
            if deliver_sms
            else None
        )
        try:
            yield
        finally:
            # Shutdown (after uvicorn's grace period for requests): the worker finishes the
            # SMS it is sending, marks it, and takes no other.
            stop.set()
            if worker is not None:
                # Not cancelled: a cancelled await would leave the thread's send unmarked.
                # The pass ends after its current SMS; a hung transport is cut off with
                # the lease (by then another worker may take the message anyway).
                done, _ = await asyncio.wait({worker}, timeout=settings.outbox_lease_seconds)
                if not done:
                    worker.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await worker
            uow.close()

    served = dialects.serve(uow)
    readiness = Readiness(uow.db, served.limiter)
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *served.routes,
        *openapi.routes(),
        *console.mount(uow),
    ]
    if settings.metrics.lower() == "on":  # a port of their own is `serve`'s listener
        routes.append(Route("/metrics", metrics_page, methods=["GET"]))
    app = _App(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(BodyLimit, max_bytes=settings.max_body_bytes)],
    )
    # A redirect to the same path with a slash would be built from the client's Host header
    # (and carry a LINK apikey in its query to wherever that names): never redirect.
    app.router.redirect_slashes = False
    app.router.default = served.fallback(app.router.default)
    app.state.uow = uow
    app.exact = ExactPaths(app.starlette, routes=routes)
    app.front = BodyLimit(app.exact, max_bytes=settings.max_body_bytes)
    return app


class _App(Starlette):
    """Starlette, with the plain-ASGI routes' exact paths (and the paths with parameters its
    router chose such a route for before: `ExactPaths.learn`) served ahead of its own call
    and its error middleware (the dialects' pipeline answers every error itself), under the
    same body limit; any other request goes through Starlette's whole stack, as before."""

    exact: ExactPaths | None = None
    front: ASGIApp | None = None  # `exact` under the body limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exact = self.exact
        if exact is None or self.front is None:
            await super().__call__(scope, receive, send)
            return
        if exact.find(scope):
            await self.front(scope, receive, send)
            return
        key = exact.learnable(scope)
        await super().__call__(scope, receive, send)
        if key is not None:
            exact.learn(key, scope)  # the same path next time: without the router

    async def starlette(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)


@functools.cache  # once a process: the first app started in it (tests start many)
def _freeze_startup_objects() -> None:
    """Leave what startup built (modules, routes, compiled statements: ~100,000 objects) out of
    every later collection. A full collection comes once the hot read's memos have grown
    enough (a server meeting its users): in `make bench` (mysms balance/get, 100,000 users)
    it stopped the loop for 90 ms walking them all, and for 11 ms once they were frozen
    (p99 JSON 27.7 -> 20.7 ms, XML 39.5 -> 18.7 ms, one run each on a loaded machine)."""
    gc.collect()
    gc.freeze()


async def _outbox_worker(
    uow: UnitOfWork, transport: Transport, channels: dict[str, Transport], stop: threading.Event
) -> None:
    """Deliver due SMS every poll interval; an outage is logged and retried, never fatal.

    Once `stop` is set the pass ends after the SMS being sent (marked as sent), and the
    loop after the pass.
    """
    interval = uow.settings.outbox_poll_seconds
    worker = outbox.worker_name()
    while not stop.is_set():
        try:
            await run_in_threadpool(
                functools.partial(
                    outbox.deliver_due,
                    uow,
                    transport,
                    worker=worker,
                    stopping=stop.is_set,
                    channels=channels,
                )
            )
        except Exception as error:  # noqa: BLE001 - the worker must outlive any one failure
            log.warning("outbox worker pass failed", error=type(error).__name__)
        await _sleep_unless(stop, interval)


async def _sleep_unless(stop: threading.Event, seconds: float) -> None:
    """Sleep `seconds`, or less: a stop is noticed within a tenth of a second."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not stop.is_set():
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return
        await asyncio.sleep(min(left, 0.1))
