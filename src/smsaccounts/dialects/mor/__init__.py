"""The MOR billing API (seed 003, CONTRACT section 5).

`/billing/api/user_details_get` (old name `user_details`) and
`/billing/api/user_balance_update` (old name `user_balance_change`): parameters from the
query string or a form body, POST (GET only when `SMSACCOUNTS_MOR_ALLOW_GET` is on), every
answer HTTP 200 `application/xml`, every failure an `<error>` from `render.ERRORS`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from smsaccounts.dialects import wire
from smsaccounts.dialects.mor import render
from smsaccounts.dialects.mor.messages import Authenticated, UserBalanceUpdate, UserDetailsGet
from smsaccounts.errors import DomainError
from smsaccounts.services import billing
from smsaccounts.storage.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

P = TypeVar("P", bound=Authenticated)
Handler = Callable[[Request], Any]

MEDIA_TYPE = "application/xml"
IDEMPOTENCY_HEADER = "idempotency-key"


@dataclasses.dataclass(frozen=True, slots=True)
class _Origin:
    """What a request says besides its parameters: where it came from, and its headers'."""

    client_ip: str | None
    idempotency_key: str | None


def routes(uow: UnitOfWork) -> list[BaseRoute]:
    details = _endpoint(uow, UserDetailsGet, _user_details)
    balance = _endpoint(uow, UserBalanceUpdate, _user_balance_update)
    paths = {
        "user_details_get": details,
        "user_details": details,
        "user_balance_update": balance,
        "user_balance_change": balance,
    }
    return [
        Route(f"/billing/api/{name}", endpoint, methods=["GET", "POST"])
        for name, endpoint in paths.items()
    ]


def _user_details(uow: UnitOfWork, params: UserDetailsGet, origin: _Origin) -> bytes:
    account, wallet = billing.user_details(
        uow, _credentials(params, origin), user_id=params.user_id, username=params.username
    )
    return wire.to_xml("page", render.page(account, wallet))


def _user_balance_update(uow: UnitOfWork, params: UserBalanceUpdate, origin: _Origin) -> bytes:
    billing.update_balance(
        uow,
        _credentials(params, origin),
        user_id=params.user_id,
        balance=params.balance,
        idempotency_key=origin.idempotency_key,
    )
    return wire.to_xml("status", render.BALANCE_UPDATED)


def _credentials(params: Authenticated, origin: _Origin) -> billing.Credentials:
    return billing.Credentials(
        username=params.u, password=params.p, hash=params.hash, client_ip=origin.client_ip
    )


def _endpoint(
    uow: UnitOfWork,
    params_type: type[P],
    call: Callable[[UnitOfWork, P, _Origin], bytes],
) -> Handler:
    async def endpoint(request: Request) -> Response:
        settings = uow.settings
        if not settings.mor_api_enabled:
            return _error(render.API_DISABLED)
        if request.method != "POST" and not settings.mor_allow_get:
            return _error(render.GET_DISABLED)
        try:
            params = wire.convert(_strings(await wire.read_params(request)), params_type)
        except wire.WireError:
            # Parameters that cannot be read cannot have been hashed correctly either.
            return _error(render.INCORRECT_HASH)
        try:
            origin = _Origin(wire.client_ip(request), request.headers.get(IDEMPOTENCY_HEADER))
            body = await run_in_threadpool(call, uow, params, origin)
        except DomainError as error:
            if error.kind == "service_unavailable":
                log.warning("mor request failed", path=request.url.path, error=error.kind)
            return _error(render.error_text(error))
        except Exception:  # a client gets an <error>, never a stack trace
            log.exception("mor request crashed", path=request.url.path)
            return _error(render.INTERNAL_ERROR)
        return Response(body, media_type=MEDIA_TYPE)

    return endpoint


def _strings(raw: dict[str, Any]) -> dict[str, str]:
    """Form values are strings already; a JSON body's integers are taken as their digits."""
    out: dict[str, str] = {}
    for name, value in raw.items():
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise wire.WireError(f"{name} must be a string")
        out[name] = value
    return out


def _error(text: str) -> Response:
    return Response(wire.to_xml("error", text), media_type=MEDIA_TYPE)
