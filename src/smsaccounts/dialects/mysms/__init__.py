"""The mysms-compatible user endpoint API (seed 000, CONTRACT section 2).

Twelve POST methods under three mounts (/rest, /json, /xml). Each request: body decoded by
Content-Type, rate limits hit, the client key authenticated, the method's use case run,
and a domain error turned into its errorCode by `codes.code_for`. Every answer is HTTP 200
except an unreadable body (400) and an unsupported media type (415).

Each method is a plain ASGI app rather than a Request/Response endpoint: the app routes
its exact path to it directly (`middleware.ExactPaths`), which with the two objects saved
is about a third of a balance/get's time in the service.
"""

from __future__ import annotations

import traceback
from typing import Any

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from smsaccounts.dialects import wire
from smsaccounts.dialects.mysms import codes, negotiation
from smsaccounts.dialects.mysms.handlers import HANDLERS, Handler
from smsaccounts.dialects.mysms.messages import METHODS, request, response
from smsaccounts.domain import credentials
from smsaccounts.errors import DomainError
from smsaccounts.ratelimit import RateLimiter
from smsaccounts.services import mysms
from smsaccounts.storage.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)
MOUNTS = ("rest", "json", "xml")


# Methods whose whole work is the one hot read (key, token, wallet): see `Endpoint`.
READ_ONLY = frozenset({"balance/get"})


def routes(uow: UnitOfWork) -> list[BaseRoute]:
    limiter = RateLimiter(uow.settings)  # one per app: its counts must outlive a request
    # One Mount per mount point: a request is matched against its 12 methods, not all 36.
    return [
        Mount(
            f"/{mount}/user",
            routes=[
                Route(
                    f"/{path}",
                    Endpoint(uow, limiter, mount, path, *METHODS[path], HANDLERS[path]),
                    methods=["POST"],
                )
                for path in METHODS
            ],
        )
        for mount in MOUNTS
    ]


class Endpoint:
    """One method on one mount, as an ASGI app: decode, answer, encode."""

    def __init__(
        self,
        uow: UnitOfWork,
        limiter: RateLimiter,
        mount: str,
        path: str,
        request_type: type[request],
        response_type: type[response],
        handler: Handler,
    ) -> None:
        self.uow, self.limiter, self.mount, self.path = uow, limiter, mount, path
        self.request_type, self.response_type, self.handler = request_type, response_type, handler
        # A read-only method's one database read need not hop to a worker thread when the
        # limits are counted in memory: SQLite in WAL mode answers in microseconds and never
        # waits on a writer, so it runs inline; PostgreSQL's round trip is awaited.
        hot_read = path in READ_ONLY and not uow.settings.redis_url
        self.inline = hot_read and uow.hot.inline
        self.awaited = hot_read and uow.hot.awaitable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = accept = None
        for name, value in scope["headers"]:
            if name == b"content-type" and content_type is None:
                content_type = value.decode("latin-1")
            elif name == b"accept" and accept is None:
                accept = value.decode("latin-1")
        # The app's BodyLimit middleware refuses oversized bodies (413) as they arrive.
        body = await wire.read_body(receive)
        if body is None:  # the client went away
            return
        requested = negotiation.request_format(content_type)
        if requested is None:
            fmt = negotiation.response_format(self.mount, accept, negotiation.JSON)
            answer, status = self.response_type(errorCode=codes.PARAMETER), 415
        else:
            fmt = negotiation.response_format(self.mount, accept, requested)
            client_ip = wire.client_ip(scope)
            try:
                payload = negotiation.decode(body, requested)
            except wire.WireError:
                answer, status = self.response_type(errorCode=codes.PARAMETER), 400
            else:
                status = 200
                if self.inline:
                    answer = self.answer(payload, client_ip)
                elif self.awaited:
                    answer = await self.answer_async(payload, client_ip)
                else:
                    answer = await run_in_threadpool(self.answer, payload, client_ip)
        await wire.send_body(send, status, negotiation.MEDIA_TYPES[fmt],
                             negotiation.encode(answer, fmt))  # fmt: skip

    def answer(self, payload: dict[str, Any], client_ip: str | None) -> response:
        try:
            api_key, token = self.limit(payload, client_ip)
            caller = mysms.client(self.uow, api_key=api_key, client_ip=client_ip, auth_token=token)
            return self.handler(self.uow, caller, wire.convert(payload, self.request_type))
        except Exception as error:  # noqa: BLE001 - every error has its code
            return self.failed(error)

    async def answer_async(self, payload: dict[str, Any], client_ip: str | None) -> response:
        """`answer` for a READ_ONLY method: the read awaited, the rest runs in memory."""
        try:
            api_key, token = self.limit(payload, client_ip)
            caller = await mysms.client_async(self.uow, api_key=api_key, client_ip=client_ip,
                                              auth_token=token)  # fmt: skip
            return self.handler(self.uow, caller, wire.convert(payload, self.request_type))
        except Exception as error:  # noqa: BLE001 - every error has its code
            return self.failed(error)

    def limit(
        self, payload: dict[str, Any], client_ip: str | None
    ) -> tuple[str | None, str | None]:
        """Count the request against its IP and key; the key and token as sent (if strings)."""
        api_key = payload.get("apiKey")
        api_key = api_key if isinstance(api_key, str) else None
        self.limiter.hit("ip", client_ip or "unknown")
        if api_key:
            self.limiter.hit("key", credentials.secret_hash(api_key))
        token = payload.get("authToken")
        return api_key, token if isinstance(token, str) else None

    def failed(self, error: Exception) -> response:
        if isinstance(error, DomainError):
            return self.response_type(errorCode=codes.code_for(error))
        if isinstance(error, wire.WireError):
            return self.response_type(errorCode=codes.PARAMETER)
        # A client sees 99, never a trace. Type and frames only: an exception's message may
        # quote SQL parameters.
        log.error("mysms: unexpected error", method=self.path, error=type(error).__name__,
                  frames="".join(traceback.format_tb(error.__traceback__)))  # fmt: skip
        return self.response_type(errorCode=codes.UNAVAILABLE)
