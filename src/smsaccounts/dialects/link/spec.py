"""The LINK v2 operations for the OpenAPI document, from the Structs in `messages`.

Every call authenticates with the user's own `?apikey=` (or the legacy
`apikey=legacy&username=&password=&type=plain`); `{fmt}` is `json` or `xml`, and any
other format is a 404 in JSON.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from smsaccounts.dialects.link.messages import (
    ErrorResponse,
    MessageBody,
    MessageInput,
    MessageResponse,
    PingResponse,
    UserInput,
    UserResponse,
    UsersResponse,
)
from smsaccounts.openapi import JSON, XML, Body, BodyTooLarge, Operation, Param

SECURITY_SCHEMES = {
    "linkApiKey": {
        "type": "apiKey",
        "in": "query",
        "name": "apikey",
        "description": "The calling user's own API key (LINK `apikey`).",
    }
}
ROOT = "response"  # every LINK XML answer is a <response>
# A list of users is `<users><user>...</user></users>` in XML (`http._xml_shape`).
XML_SHAPES = {"UsersResponse": {"users": {"wrapped": True, "items": "user"}}}


class Legacy(msgspec.Struct, kw_only=True):
    """The legacy login, used when `apikey=legacy` (handlers read these from the query)."""

    username: str | None = None
    password: str | None = None
    type: str | None = None  # plain (md5 is refused); read only when apikey=legacy


class UsersQuery(Legacy, kw_only=True):
    """Paging of `GET /v2/users`: a page number, or the `next` cursor of the last page."""

    page: str | None = None
    after: str | None = None


class UserBody(msgspec.Struct):
    """`PUT` body: `{"user": {...}}` in JSON, `<user>...</user>` in XML; fields left out stay
    as they are, and the read-only ones (balance, credits, id, ...) may be sent back as GET
    showed them (any other value is a 400 naming the field)."""

    user: UserInput


class NewUserInput(UserInput, kw_only=True):
    """What `POST` requires inside `user`: a `username` (the handler decodes `UserInput` and
    answers a 400 `username is required` without one)."""

    username: str


class NewUserBody(msgspec.Struct):
    """`POST` body: `{"user": {...}}` in JSON, `<user>...</user>` in XML."""

    user: NewUserInput


FMT = Param("fmt", "path", Literal["json", "xml"], description="answer format")
ID = Param("id", "path", str, description="the user's id (digits)")
_ERRORS: dict[int, str] = {
    400: "a malformed body or a field refused by name",
    401: "authentication failed",
    403: "the caller lacks aclAdmin (or the ACL it tries to grant)",
    404: "no such user in the caller's subtree, or an unknown format",
    413: "the body is over the size limit",
    429: "too many requests",
}


def _answers(success: type[Any]) -> dict[int, tuple[str, Body | None]]:
    out: dict[int, tuple[str, Body | None]] = {
        200: ("the result", Body.of(success, JSON, XML, root=ROOT))
    }
    for status, text in _ERRORS.items():
        body = (
            Body.of(BodyTooLarge) if status == 413 else Body.of(ErrorResponse, JSON, XML, root=ROOT)
        )
        out[status] = (text, body)
    return out


def _op(method: str, path: str, summary: str, success: type[Any], *, created: bool = False,
        **extra: Any) -> Operation:  # fmt: skip
    params = (FMT, ID) if "{id}" in path else (FMT,)
    responses = _answers(success)
    if created:  # a queued message answers 201 with LINK's batch status
        responses = {201: ("queued", responses.pop(200)[1]), **responses}
    return Operation(
        path=path,
        method=method,
        summary=summary,
        responses=responses,
        params=params,
        security=("linkApiKey",),
        **extra,
    )


_USER_BODY = Body(((UserBody, None), (UserInput, "user")), (JSON, XML))
_NEW_USER_BODY = Body(((NewUserBody, None), (NewUserInput, "user")), (JSON, XML))
OPERATIONS = (
    _op("GET", "/v2/ping.{fmt}", "who am I: id, name, iprange and key", PingResponse, query=Legacy),
    _op(
        "GET",
        "/v2/users.{fmt}",
        "every user in the caller's subtree, a page at a time",
        UsersResponse,
        query=UsersQuery,
    ),
    _op(
        "POST",
        "/v2/user.{fmt}",
        "create a user under the caller (aclAdmin)",
        UserResponse,
        request=_NEW_USER_BODY,
        body_required=True,
        query=Legacy,
    ),
    _op(
        "GET",
        "/v2/user/{id}.{fmt}",
        "one user of the caller's subtree (aclAdmin)",
        UserResponse,
        query=Legacy,
    ),
    _op(
        "PUT",
        "/v2/user/{id}.{fmt}",
        "edit a user; fields left out are unchanged, read-only ones may be sent back (aclAdmin)",
        UserResponse,
        request=_USER_BODY,
        body_required=True,
        query=Legacy,
    ),
    _op(
        "DELETE",
        "/v2/user/{id}.{fmt}",
        "deactivate a user, keeping its data (aclAdmin)",
        UserResponse,
        query=Legacy,
    ),
    _op(
        "POST",
        "/v2/user/{id}/apikey.{fmt}",
        "a new apikey for the caller itself, or for a user below it (aclAdmin); shown once "
        "in the answer's `apikey`, and every earlier key of that user stops working",
        UserResponse,
        query=Legacy,
    ),
    _op(
        "POST",
        "/v2/message.{fmt}",
        "send an SMS: charged to the wallet the caller spends from, queued for the transport; "
        "documented fields this server cannot honour are refused by name",
        MessageResponse,
        created=True,
        request=Body(((MessageBody, None), (MessageInput, "message")), (JSON, XML)),
        body_required=True,
        query=Legacy,
    ),
)
