"""The mysms-compatible user endpoint API (seed 000, CONTRACT section 2).

Twelve POST methods under three mounts (/rest, /json, /xml). Each request: body decoded by
Content-Type, rate limits hit, the client key authenticated, the method's use case run,
and a domain error turned into its errorCode by `codes.code_for`. Every answer is HTTP 200
except an unreadable body (400) and an unsupported media type (415).
"""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

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


# Methods whose whole work is the one hot read (key, token, wallet): see `_endpoint`.
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
                    _endpoint(uow, limiter, mount, path, *METHODS[path], HANDLERS[path]),
                    methods=["POST"],
                )
                for path in METHODS
            ],
        )
        for mount in MOUNTS
    ]


def _endpoint(
    uow: UnitOfWork,
    limiter: RateLimiter,
    mount: str,
    path: str,
    request_type: type[request],
    response_type: type[response],
    handler: Handler,
) -> Callable[[Request], Awaitable[Response]]:
    def answer(payload: dict[str, Any], client_ip: str | None) -> response:
        try:
            api_key = payload.get("apiKey")
            api_key = api_key if isinstance(api_key, str) else None
            limiter.hit("ip", client_ip or "unknown")
            if api_key:
                limiter.hit("key", credentials.secret_hash(api_key))
            token = payload.get("authToken")
            caller = mysms.client(uow, api_key=api_key, client_ip=client_ip,
                                  auth_token=token if isinstance(token, str) else None)  # fmt: skip
            return handler(uow, caller, wire.convert(payload, request_type))
        except DomainError as error:
            return response_type(errorCode=codes.code_for(error))
        except wire.WireError:
            return response_type(errorCode=codes.PARAMETER)
        except Exception as error:  # noqa: BLE001 - a client sees 99, never a trace
            # Type and frames only: an exception's message may quote SQL parameters.
            log.error("mysms: unexpected error", method=path, error=type(error).__name__,
                      frames="".join(traceback.format_tb(error.__traceback__)))  # fmt: skip
            return response_type(errorCode=codes.UNAVAILABLE)

    # Answered on the event loop when it costs less than the hop to a worker thread: a
    # read-only method, a database read that never blocks (SQLite WAL) and in-memory limits.
    inline = path in READ_ONLY and uow.hot.inline and not uow.settings.redis_url

    async def endpoint(http: Request) -> Response:
        accept = http.headers.get("accept")
        requested = negotiation.request_format(http.headers.get("content-type"))
        if requested is None:
            fmt = negotiation.response_format(mount, accept, negotiation.JSON)
            return negotiation.encode(response_type(errorCode=codes.PARAMETER), fmt, status=415)
        fmt = negotiation.response_format(mount, accept, requested)
        try:
            # The app's BodyLimit middleware has already refused oversized bodies (413).
            payload = negotiation.decode(await http.body(), requested)
        except wire.WireError:
            return negotiation.encode(response_type(errorCode=codes.PARAMETER), fmt, status=400)
        if inline:
            result = answer(payload, wire.client_ip(http))
        else:
            result = await run_in_threadpool(answer, payload, wire.client_ip(http))
        return negotiation.encode(result, fmt)

    return endpoint
