"""LINK's side of the pipeline: a request as its handlers see it, authentication by the
user's own key (or the legacy login form), and rendering in JSON or XML."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import msgspec

from smsaccounts.dialects import pipeline, wire
from smsaccounts.dialects.link import errors
from smsaccounts.dialects.link.messages import FORMATS, ErrorResponse
from smsaccounts.dialects.pipeline import Reply
from smsaccounts.domain import credentials
from smsaccounts.domain.models import Account
from smsaccounts.errors import BadRequest, DomainError, ErrorCode
from smsaccounts.services import auth
from smsaccounts.storage.unit_of_work import UnitOfWork

MD5_REFUSED = (
    "type=md5 is refused: passwords are stored as argon2 hashes, which an MD5 digest cannot "
    "be verified against; use an apikey, or type=plain over HTTPS"
)
MEDIA_TYPES = {"json": b"application/json", "xml": b"application/xml"}


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


Handler = Callable[[UnitOfWork, Call], msgspec.Struct]


def decode(call: pipeline.Call) -> Call:
    """The format (`json` or `xml`, else the path is not found) and the query parameters."""
    fmt = str(call.path_params.get("fmt", ""))
    if fmt not in FORMATS:
        raise BadRequest("unknown format", code=ErrorCode.ROUTE_NOT_FOUND)
    params = call.query
    if any("\x00" in value for value in params.values()):
        raise BadRequest("NUL in a parameter")
    return Call(fmt, params, call.path_params, call.body, call.client_ip, call.request_id)


def credential(call: Call) -> str | None:
    """What a request authenticates with, for its rate limit: the key, or the legacy name."""
    key = call.params.get("apikey", "")
    if key == "legacy":
        return f"user:{call.params.get('username', '')}"
    return credentials.secret_hash(key) if key else None


def by_key(call: Call) -> bool:
    """Whether the request authenticates by a key (no password to hash, no lockout to
    write), as `authenticate` decides."""
    return call.params.get("apikey", "") != "legacy"


def authenticate(uow: UnitOfWork, call: Call) -> Caller:
    """The calling user, by its own API key or the legacy username/password form."""
    key = call.params.get("apikey", "")
    if by_key(call):
        return Caller(auth.authenticate_user_key(uow, key=key, client_ip=call.client_ip), key)
    kind = call.params.get("type", "plain")
    if kind == "md5":
        raise BadRequest(MD5_REFUSED)
    if kind != "plain":
        raise BadRequest("type must be plain")
    account = auth.authenticate_user_password(
        uow,
        username=call.params.get("username", ""),
        password=call.params.get("password", ""),
        client_ip=call.client_ip,
    )
    return Caller(account, None)


def encode(call: pipeline.Call, reply: msgspec.Struct) -> Reply:
    """HTTP 200, or the `status` the answer carries (201: a message queued)."""
    return render(_format(call), getattr(reply, "status", 200), reply)


def fail(call: pipeline.Call, error: DomainError, _operation: str | None) -> Reply:
    status = errors.STATUS[error.code]
    answer = ErrorResponse(status=status, message=errors.message_for(error, call.request_id))
    reply = render(_format(call), status, answer)
    headers = pipeline.allow_header(call, error) + pipeline.retry_after_header(error)
    return dataclasses.replace(reply, headers=headers, result=str(status))


def render(fmt: str, status: int, reply: msgspec.Struct) -> Reply:
    """JSON, or XML with every field the JSON has: a null is an empty element."""
    if fmt == "xml":
        body = wire.to_xml("response", _xml_shape(reply), nulls=True)
        return Reply(status, MEDIA_TYPES[fmt], body)
    return Reply(status, MEDIA_TYPES["json"], msgspec.json.encode(reply))


def _format(call: pipeline.Call) -> str:
    """The answer's format; anything but xml (an unknown one included) answers JSON."""
    return "xml" if call.path_params.get("fmt") == "xml" else "json"


def _xml_shape(reply: msgspec.Struct) -> dict[str, Any]:
    """`<status>` first, and a list of users as `<users><user>...</user></users>`."""
    data: dict[str, Any] = msgspec.to_builtins(reply)
    if isinstance(data.get("users"), list):
        data["users"] = {"user": data["users"]}
    return {"status": data.pop("status"), **data}
