"""The MOR billing API (reference: docs/mor.md).

`/billing/api/user_details_get` (old name `user_details`) and
`/billing/api/user_balance_update` (old name `user_balance_change`): parameters from the
query string, a form or a JSON body, POST (GET only when `SMSACCOUNTS_MOR_ALLOW_GET` is
on), every answer `application/xml`, every failure an `<error>` from `errors.TABLE` inside
the root `errors.root_for` names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from smsaccounts.config import Settings
from smsaccounts.dialects import pipeline, wire
from smsaccounts.dialects.mor import errors, render
from smsaccounts.dialects.mor.messages import (
    Authenticated,
    ErrorDocument,
    UserBalanceUpdate,
    UserDetailsGet,
)
from smsaccounts.dialects.pipeline import Call, Operation, Reply
from smsaccounts.errors import BadRequest, DomainError, ErrorCode, InvalidField
from smsaccounts.services import balances
from smsaccounts.storage.unit_of_work import UnitOfWork

P = TypeVar("P", bound=Authenticated)

MEDIA_TYPE = "application/xml"
IDEMPOTENCY_HEADER = "idempotency-key"
# Function name -> the name it answers to (the old names are aliases).
FUNCTIONS = {
    "user_details_get": "user_details_get",
    "user_details": "user_details_get",
    "user_balance_update": "user_balance_update",
    "user_balance_change": "user_balance_update",
}


def _user_details(uow: UnitOfWork, params: UserDetailsGet, call: Call) -> bytes:
    account, wallet = balances.user_details(
        uow, _credentials(params, call), user_id=params.user_id, username=params.username
    )
    return wire.to_xml("page", render.page(account, wallet))


async def _user_details_on_loop(uow: UnitOfWork, params: UserDetailsGet, call: Call) -> bytes:
    """Without `p` a details call is a few reads by key, served from the event loop as the
    storage allows (`uow.reads_on_loop`: the thread hop cost more than the reads, `make
    bench --profile`); a password (argon2, the lockout's write) goes to a worker thread."""
    if params.p is None:
        return await uow.reads_on_loop(_user_details, uow, params, call)
    return await run_in_threadpool(_user_details, uow, params, call)


def _user_balance_update(uow: UnitOfWork, params: UserBalanceUpdate, call: Call) -> bytes:
    account, entry = balances.update_balance(
        uow,
        _credentials(params, call),
        user_id=params.user_id,
        balance=params.balance,
        idempotency_key=call.header(IDEMPOTENCY_HEADER.encode()),
    )
    return wire.to_xml("page", render.balance_updated(account, entry))


def _credentials(params: Authenticated, call: Call) -> balances.Credentials:
    return balances.Credentials(
        username=params.u, password=params.p, hash=params.hash, client_ip=call.client_ip
    )


def _operation(
    settings: Settings,
    name: str,
    params_type: type[P],
    use_case: Callable[[UnitOfWork, P, Call], bytes],
    on_loop: Callable[[UnitOfWork, P, Call], Awaitable[bytes]] | None = None,
) -> Operation[P, bytes]:
    async def decode(call: Call) -> P:
        if not settings.mor_api_enabled:
            raise BadRequest("the MOR API is off", code=ErrorCode.API_DISABLED)
        if call.method != "POST" and not settings.mor_allow_get:
            raise BadRequest("GET is off", code=ErrorCode.METHOD_NOT_ALLOWED)
        raw = await wire.read_params(call.query, call.body, call.raw_headers)
        try:
            return wire.convert(_strings(raw), params_type)
        except InvalidField as error:
            raise wire.WireError(error.message) from None

    return Operation(
        name=name,
        decode=decode,
        run=use_case,
        encode=_encode,
        credential=lambda params: f"mor:{params.u}" if params.u else None,
        run_on_loop=on_loop,
    )


def _strings(raw: dict[str, Any]) -> dict[str, str]:
    """Every parameter as the text it was sent as, the text the hash was computed over.

    Form values are text already. In a JSON body a number is its text on the wire (`5`,
    `2.5`: `wire.read_params` keeps a fraction as sent), a boolean `true` or `false`, and
    `null` is a parameter not sent at all, as a client leaving it out of its hash means.
    """
    out: dict[str, str] = {}
    for name, value in raw.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int):
            value = str(value)
        if not isinstance(value, str):
            raise wire.WireError(f"{name} must be a string or a number")
        out[name] = value
    return out


# Every answer is HTTP 200 except these (the seed names none of them); a GET while GET is
# off keeps the seed's HTTP 200 `GET Requests are disabled`.
_HTTP = {ErrorCode.RATE_LIMITED: 429, ErrorCode.ROUTE_NOT_FOUND: 404}


def _encode(_call: Call, body: bytes) -> Reply:
    return Reply(200, MEDIA_TYPE.encode(), body)


def _fail(call: Call, error: DomainError, operation: str | None) -> Reply:
    text = errors.TABLE[error.code]
    status = _HTTP.get(error.code, 200)
    headers = pipeline.allow_header(call, error) + pipeline.retry_after_header(error)
    if error.code is ErrorCode.METHOD_NOT_ALLOWED and call.method != "GET":
        text, status = errors.METHOD_NOT_ALLOWED, 405
    body = wire.to_xml(errors.root_for(operation, text), ErrorDocument(error=text))
    return Reply(status, MEDIA_TYPE.encode(), body, headers, text)


def dialect(settings: Settings) -> pipeline.Dialect:
    """MOR's switches (the API on or off, GET allowed) are the installation's settings."""
    use_cases: dict[str, tuple[Any, ...]] = {
        "user_details_get": (UserDetailsGet, _user_details, _user_details_on_loop),
        # Without `p` a debit is lookups and one write: grouped on the loop (SQLite).
        "user_balance_update": (
            UserBalanceUpdate,
            _user_balance_update,
            pipeline.writes_on_loop(_user_balance_update, when=lambda p: p.p is None),
        ),
    }
    routes: dict[str, dict[str, Operation[Any, Any]]] = {}
    for path, function in FUNCTIONS.items():
        op = _operation(settings, function, *use_cases[function])
        routes[f"/{path}"] = {"GET": op, "POST": op}
    return pipeline.Dialect(name="mor", mounts=("/billing/api",), routes=routes, fail=_fail)
