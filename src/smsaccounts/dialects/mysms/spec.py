"""The mysms operations for the OpenAPI document: every method on every mount.

Bodies are the `METHODS` Structs the routes decode and encode. /json answers JSON, /xml
XML, /rest either (by `Accept`); every mount reads a JSON or an XML body.
"""

from __future__ import annotations

from smsaccounts.dialects.mysms import MOUNTS, remote
from smsaccounts.dialects.mysms.messages import METHODS, REQUIRED, request, response
from smsaccounts.openapi import JSON, XML, Body, BodyTooLarge, Operation

_ANSWERS = {"json": (JSON,), "xml": (XML,), "rest": (JSON, XML)}
_DESCRIPTION = (
    "Errors answer HTTP 200 with a non-zero errorCode. Only a body that cannot be parsed "
    "answers 400 and an unsupported Content-Type 415, both with errorCode 2."
)


def _operation(mount: str, path: str) -> Operation:
    request_type, response_type = METHODS[path]
    return _described(f"/{mount}/user/{path}", mount, request_type, response_type, REQUIRED[path])


def _described(
    path: str,
    mount: str,
    request_type: type[request],
    response_type: type[response],
    required: tuple[str, ...],
) -> Operation:
    answer = Body.of(response_type, *_ANSWERS[mount])
    return Operation(
        path=path,
        method="POST",
        summary=f"{request_type.__name__} -> {response_type.__name__}",
        description=_DESCRIPTION,
        request=Body.of(request_type, JSON, XML),
        required=required,
        responses={
            200: ("the answer; errorCode 0 is success, any other an error", answer),
            400: ("the body cannot be parsed (errorCode 2)", answer),
            413: ("the body is over the size limit", Body.of(BodyTooLarge)),
            415: ("the Content-Type is neither JSON nor XML (errorCode 2)", answer),
        },
    )


OPERATIONS = (
    *(_operation(mount, path) for mount in MOUNTS for path in METHODS),
    *(_described(f"/{mount}/{remote.PATH}", mount, remote.remoteSmsSendRequest,
                 remote.remoteSmsSendResponse, remote.REQUIRED) for mount in MOUNTS),
)  # fmt: skip
