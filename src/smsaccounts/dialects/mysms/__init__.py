"""The mysms-compatible user endpoint API (reference: docs/mysms.md).

Twelve POST methods under three mounts (/rest, /json, /xml), and `REMOTE`: mysms's
`/remote/sms/send` under the same three (`remote.py`), served by the pipeline: the
body decoded by its Content-Type, the client key authenticated, the method's use case run,
and a domain error turned into its errorCode by `codes.TABLE`. Every answer is HTTP 200
except an unreadable body (400), an unsupported media type (415) and a path or method
this API does not have (404, 405), all with an `errorCode` body.

balance/get is the one read served on the event loop (`run_on_loop`): its whole work is
one indexed read of key, token and wallet, which the storage answers there.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from smsaccounts.dialects import pipeline, wire
from smsaccounts.dialects.mysms import codes, negotiation, remote
from smsaccounts.dialects.mysms.handlers import HANDLERS, Handler
from smsaccounts.dialects.mysms.messages import METHODS, request, response
from smsaccounts.dialects.pipeline import Call, Operation, Reply
from smsaccounts.domain import credentials
from smsaccounts.errors import BadRequest, DomainError, ErrorCode
from smsaccounts.services import sessions
from smsaccounts.storage.unit_of_work import UnitOfWork

MOUNTS = ("rest", "json", "xml")


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """A decoded request: its fields, and the format its answer goes out in."""

    fields: dict[str, Any]
    answer_format: str
    key_hash: str | None  # the client key's, hashed once: the rate limit's and the read's


Answer = tuple[str, response]  # the answer's format, and the answer


def _decode(call: Call) -> Request:
    content_type, accept = call.headers(b"content-type", b"accept")
    requested = negotiation.request_format(content_type)
    if requested is None:
        raise BadRequest("unsupported media type", code=ErrorCode.MEDIA_TYPE_UNSUPPORTED)
    fields = _tolerant(negotiation.decode(call.body, requested))
    api_key = fields.get("apiKey")
    key_hash = credentials.secret_hash(api_key) if isinstance(api_key, str) and api_key else None
    return Request(fields, _answer_format(call.path, accept, requested), key_hash)


def _tolerant(fields: dict[str, Any]) -> dict[str, Any]:
    """What real clients send in JSON, read as they mean it.

    A device `key` sent as a JSON number (`"key": 1`) is its digits. An `authToken` that is
    not a string (the Python wrapper sends `false` before it has logged in) is no token at
    all: an authenticated method answers it as an invalid token (100), not a broken field.
    """
    key, token = fields.get("key"), fields.get("authToken")
    if isinstance(key, int | float) and not isinstance(key, bool):
        fields["key"] = str(key)
    if token is not None and not isinstance(token, str):
        del fields["authToken"]
    return fields


def _credential(request: Request) -> str | None:
    return request.key_hash


def _secrets(request: Request) -> tuple[str | None, str | None]:
    """The key and token as sent, when they are strings."""
    api_key, token = request.fields.get("apiKey"), request.fields.get("authToken")
    return (api_key if isinstance(api_key, str) else None,
            token if isinstance(token, str) else None)  # fmt: skip


def _operation(path: str, request_type: type[request], handler: Handler) -> Operation[Any, Any]:
    def run(uow: UnitOfWork, req: Request, call: Call) -> Answer:
        api_key, token = _secrets(req)
        caller = sessions.client(uow, api_key=api_key, client_ip=call.client_ip, auth_token=token,
                                 key_hash=req.key_hash)  # fmt: skip
        return req.answer_format, handler(uow, caller, wire.convert(req.fields, request_type))

    async def run_on_loop(uow: UnitOfWork, req: Request, call: Call) -> Answer:
        api_key, token = _secrets(req)
        caller = await sessions.client_async(uow, api_key=api_key, client_ip=call.client_ip,
                                             auth_token=token, key_hash=req.key_hash)  # fmt: skip
        return req.answer_format, handler(uow, caller, wire.convert(req.fields, request_type))

    return Operation(
        name=path,
        decode=_decode,
        run=run,
        encode=_encode,
        credential=_credential,
        run_on_loop=run_on_loop if path in READ_ON_LOOP else None,
    )


# Methods whose whole work is the one hot read (key, token, wallet).
READ_ON_LOOP = frozenset({"balance/get"})


def _answer_format(path: str, accept: str | None, requested: str) -> str:
    return negotiation.response_format(path.split("/", 2)[1], accept, requested)


def _encode(_call: Call, answer: Answer) -> Reply:
    fmt, body = answer
    return Reply(200, negotiation.MEDIA_TYPES[fmt], negotiation.encode(body, fmt))


def _fail(call: Call, error: DomainError, operation: str | None) -> Reply:
    code, status = codes.TABLE[error.code]
    response_type = _RESPONSES[operation] if operation else response
    content_type, accept = call.headers(b"content-type", b"accept")
    requested = negotiation.request_format(content_type) or negotiation.JSON
    fmt = _answer_format(call.path, accept, requested)
    body = negotiation.encode(response_type(errorCode=code), fmt)
    headers = pipeline.allow_header(call, error)
    return Reply(status, negotiation.MEDIA_TYPES[fmt], body, headers, result=str(code))


# The answer element of every operation, for an error's answer.
_RESPONSES: dict[str, type[response]] = {
    **{path: types[1] for path, types in METHODS.items()},
    remote.PATH: remote.remoteSmsSendResponse,
}

DIALECT = pipeline.Dialect(
    name="mysms",
    mounts=tuple(f"/{mount}/user" for mount in MOUNTS),
    routes={
        f"/{path}": {"POST": _operation(path, request_type, HANDLERS[path])}
        for path, (request_type, _response_type) in METHODS.items()
    },
    fail=_fail,
)

_SEND = _operation(remote.PATH, remote.remoteSmsSendRequest, remote.send)
REMOTE = pipeline.Dialect(
    name="mysms",
    mounts=tuple(f"/{mount}/remote" for mount in MOUNTS),
    routes={"/sms/send": {"POST": _SEND}},
    fail=_fail,
)
