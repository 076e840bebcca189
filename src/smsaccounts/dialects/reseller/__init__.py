"""The reseller provisioning API (seeds 001 and 004, CONTRACT section 3).

Each endpoint: read the parameters, check every one of them (status 1/2, nothing done),
authenticate the reseller (3/4/400, before anything about a customer is read), call the
provisioning service, answer JSON with HTTP 200 and the status of `statuses.TABLE`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from smsaccounts.dialects import wire
from smsaccounts.dialects.reseller import decode, statuses
from smsaccounts.dialects.reseller import messages as m
from smsaccounts.errors import DomainError, InvalidField
from smsaccounts.services import provisioning
from smsaccounts.storage.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

PREFIX = "/services/rest"
Handler = Callable[[UnitOfWork, dict[str, Any]], msgspec.Struct]


def customer_create(uow: UnitOfWork, raw: dict[str, Any]) -> msgspec.Struct:
    login, new = decode.customer_create(decode.params(raw, m.CustomerCreate))
    reseller = provisioning.authenticate(uow, name=login.name, password=login.password)
    customer = provisioning.create_customer(uow, reseller=reseller, new=new)
    return m.Created(id=customer.object_id)


def user_create(uow: UnitOfWork, raw: dict[str, Any]) -> msgspec.Struct:
    login, new = decode.user_create(decode.params(raw, m.UserCreate))
    reseller = provisioning.authenticate(uow, name=login.name, password=login.password)
    user = provisioning.create_user(uow, reseller=reseller, new=new)
    return m.Created(id=user.object_id)


def customer_user_create(uow: UnitOfWork, raw: dict[str, Any]) -> msgspec.Struct:
    login, new = decode.customer_user_create(decode.params(raw, m.CustomerUserCreate))
    reseller = provisioning.authenticate(uow, name=login.name, password=login.password)
    user, customer = provisioning.create_customer_user(uow, reseller=reseller, new=new)
    return m.CustomerUserCreated(id=user.object_id, customer_id=customer.object_id)


def add_credits(uow: UnitOfWork, raw: dict[str, Any]) -> msgspec.Struct:
    login, customer_id, credits = decode.add_credits(decode.params(raw, m.AddCredits))
    reseller = provisioning.authenticate(uow, name=login.name, password=login.password)
    after = provisioning.add_credits(
        uow, reseller=reseller, customer_id=customer_id, credits=credits
    )
    return m.Credits(credits=after)


def balance(uow: UnitOfWork, raw: dict[str, Any]) -> msgspec.Struct:
    login, customer_id, user_id = decode.balance(decode.params(raw, m.Balance))
    reseller = provisioning.authenticate(uow, name=login.name, password=login.password)
    credits = provisioning.balance(uow, reseller=reseller, customer_id=customer_id, user_id=user_id)
    return m.Credits(credits=credits)


ENDPOINTS: dict[str, Handler] = {
    "customer/create": customer_create,
    "user/create": user_create,
    "customer-user/create": customer_user_create,
    "admin/addCredits": add_credits,
    "admin/balance": balance,
}


def routes(uow: UnitOfWork) -> list[BaseRoute]:
    return [
        Route(f"{PREFIX}/{path}", _endpoint(uow, path, handler), methods=["POST"])
        for path, handler in ENDPOINTS.items()
    ]


def _endpoint(uow: UnitOfWork, path: str, handler: Handler) -> Callable[..., Any]:
    async def endpoint(request: Request) -> Response:
        try:
            raw = await wire.read_params(request)
            answer = await run_in_threadpool(_answer, uow, path, handler, raw)
        except wire.WireError as error:
            answer = statuses.error_for(InvalidField(str(error), field="body", reason="body"))
        return Response(msgspec.json.encode(answer), media_type="application/json")

    return endpoint


def _answer(
    uow: UnitOfWork, path: str, handler: Handler, raw: dict[str, Any]
) -> msgspec.Struct | None:
    try:
        return handler(uow, raw)
    except DomainError as error:
        answer = statuses.error_for(error)
        if answer is None:
            log.warning("reseller api refused", endpoint=path, error=type(error).__name__)
            return statuses.internal_error()
        return answer
    except Exception:  # the client gets 9999, never a stack trace; the log has it
        log.exception("reseller api failed", endpoint=path)
        return statuses.internal_error()
