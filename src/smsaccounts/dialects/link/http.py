"""The LINK request cycle: request id, format, authentication, one error table, rendering.

Every request gets a short random id, bound into the one log line written for it; an
authentication failure shows the same id to the client and nothing else about why.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from smsaccounts.dialects import wire
from smsaccounts.dialects.link import views
from smsaccounts.dialects.link.messages import FORMATS, ErrorResponse
from smsaccounts.domain.models import Account
from smsaccounts.domain.tree import Kind
from smsaccounts.errors import (
    AccessDenied,
    AccountDisabled,
    AlreadyExists,
    AuthenticationFailed,
    Blocked,
    DomainError,
    ForbiddenField,
    IncompatibleBillingType,
    InsufficientFunds,
    InvalidField,
    MissingField,
    NotFound,
    RateLimited,
    ServiceUnavailable,
)
from smsaccounts.services import auth
from smsaccounts.storage.unit_of_work import UnitOfWork

# THE table: domain error -> LINK status. Authentication errors never reach it (always 401).
STATUS: dict[type[DomainError], int] = {
    MissingField: 400,
    InvalidField: 400,
    ForbiddenField: 400,
    AlreadyExists: 400,
    IncompatibleBillingType: 400,
    InsufficientFunds: 400,
    AuthenticationFailed: 401,
    AccountDisabled: 401,
    Blocked: 401,
    AccessDenied: 403,
    NotFound: 404,
    RateLimited: 429,
    ServiceUnavailable: 503,
}
# The same bytes for a missing id and one outside the caller's subtree.
NOT_FOUND = "Not found"
MD5_REFUSED = (
    "type=md5 is refused: passwords are stored as argon2 hashes, which an MD5 digest cannot "
    "be verified against; use an apikey, or type=plain over HTTPS"
)


@dataclasses.dataclass(frozen=True, slots=True)
class Call:
    """One decoded request, as every handler gets it."""

    fmt: str
    params: dict[str, str]
    path_params: dict[str, Any]
    body: bytes
    client_ip: str | None
    request_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class Caller:
    account: Account
    apikey: str | None  # the key it authenticated with; None for the legacy form


class Failure(Exception):
    """An answer other than 200, decided by the dialect itself."""

    def __init__(self, status: int, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason


Handler = Callable[[UnitOfWork, Call], msgspec.Struct]


def authenticate(uow: UnitOfWork, call: Call) -> Caller:
    """The calling user, by its own API key or the legacy username/password form."""
    try:
        return _authenticate(uow, call)
    except ServiceUnavailable:
        raise  # an outage is not a wrong key: the caller answers 503
    except DomainError as error:
        message = f"Access denied [{call.request_id}] authentication failed"
        reason = str(error.fields.get("reason", error.kind))
        raise Failure(401, message, reason=reason) from None


def _authenticate(uow: UnitOfWork, call: Call) -> Caller:
    key = call.params.get("apikey", "")
    if key != "legacy":
        api_key, owner = auth.authenticate_api_key(uow, key=key, client_ip=call.client_ip)
        if api_key.purpose != "user" or owner.kind is not Kind.USER:
            raise AuthenticationFailed("not a user's own key", reason="key_purpose")
        return Caller(owner, key)
    kind = call.params.get("type", "plain")
    if kind == "md5":
        raise Failure(400, MD5_REFUSED)
    if kind != "plain":
        raise Failure(400, "type must be plain")
    username = call.params.get("username", "")
    account = auth.authenticate_password(
        uow,
        throttle_key=f"user:{username}",
        find=lambda tx: tx.accounts.get_by_name(Kind.USER, username),
        password=call.params.get("password", ""),
    )
    auth.check_account_access(account, call.client_ip)
    return Caller(account, None)


def message_for(error: DomainError) -> str:
    """What the client reads, in LINK's field names; never a stack trace or an id it asked."""
    field = views.wire_name(str(error.fields.get("field", "")))
    if isinstance(error, NotFound):
        return NOT_FOUND
    if isinstance(error, ForbiddenField):
        return f"{field} cannot be set through this API"
    if isinstance(error, MissingField):
        return f"{field} is required"
    if isinstance(error, InvalidField):
        return f"{field}: {error.message}"
    if isinstance(error, AlreadyExists):
        return f"{field} is already taken"
    if isinstance(error, AccessDenied) and error.fields.get("reason") == "acl_not_held":
        acl = views.wire_name(str(error.fields["acl"]))
        return f"Access denied: {acl} cannot be granted by a user who does not hold it"
    if isinstance(error, AccessDenied):
        return "Access denied: managing users needs aclAdmin"
    if isinstance(error, ServiceUnavailable):
        return "Service temporarily unavailable, try again later"
    return error.message


def render(fmt: str, status: int, reply: msgspec.Struct) -> Response:
    if fmt == "xml":
        return Response(
            wire.to_xml("response", _xml_shape(reply)), status, media_type="application/xml"
        )
    return Response(msgspec.json.encode(reply), status, media_type="application/json")


def _xml_shape(reply: msgspec.Struct) -> dict[str, Any]:
    """`<status>` first, and a list of users as `<users><user>...</user></users>`."""
    data: dict[str, Any] = msgspec.to_builtins(reply)
    if isinstance(data.get("users"), list):
        data["users"] = {"user": data["users"]}
    return {"status": data.pop("status"), **data}


def endpoint(uow: UnitOfWork, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: read the request, run it off the event loop, answer in its format."""

    async def run(request: Request) -> Response:
        request_id = secrets.token_hex(4)
        fmt = str(request.path_params.get("fmt", ""))
        # The query string carries the apikey and the legacy password: never log it.
        log = structlog.get_logger(__name__).bind(
            request_id=request_id, method=request.method, path=request.url.path
        )
        if fmt not in FORMATS:
            log.info("link request", status=404, reason="format")
            return render("json", 404, ErrorResponse(status=404, message=NOT_FOUND))
        call = Call(fmt, dict(request.query_params), dict(request.path_params),
                    await request.body(), wire.client_ip(request), request_id)  # fmt: skip
        if any("\x00" in value for value in call.params.values()):
            return render(fmt, 400, ErrorResponse(status=400, message="NUL in a parameter"))
        status, reply = await run_in_threadpool(_answer, uow, handler, call, log)
        return render(fmt, status, reply)

    return run


def _answer(uow: UnitOfWork, handler: Handler, call: Call, log: Any) -> tuple[int, msgspec.Struct]:
    try:
        reply = handler(uow, call)
    except Failure as failure:
        log.info("link request", status=failure.status, reason=failure.reason or "failure")
        return failure.status, ErrorResponse(status=failure.status, message=failure.message)
    except wire.WireError as error:
        log.info("link request", status=400, reason="bad_request")
        return 400, ErrorResponse(status=400, message=str(error))
    except DomainError as error:
        status = STATUS.get(type(error), 400)
        log.info("link request", status=status, reason=error.kind)
        return status, ErrorResponse(status=status, message=message_for(error))
    except Exception:  # the client gets a 500 in its format, the log gets the trace
        log.exception("link request failed", status=500)
        return 500, ErrorResponse(status=500, message=f"Internal error [{call.request_id}]")
    log.info("link request", status=200)
    return 200, reply
