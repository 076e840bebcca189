"""The charging API's operations for the OpenAPI document, from the Structs in `messages`."""

from __future__ import annotations

from typing import Any

from smsaccounts.dialects.charging.messages import (
    ChargeRequest,
    ChargeResponse,
    ErrorResponse,
    RefundRequest,
)
from smsaccounts.openapi import JSON, Body, BodyTooLarge, Operation

SECURITY_SCHEMES = {
    "gatewayKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "A sending gateway's key (`smsaccounts apikey create NAME --gateway`).",
    }
}
_ERRORS: dict[int, str] = {
    400: "a malformed body, a missing or invalid field, an invalid recipient, too many parts",
    401: "the gateway key is missing, unknown, revoked or used from outside its ranges",
    402: "insufficient funds in the paying wallet",
    403: "a disabled sender, a recipient outside its prefixes or countries, a class it may "
    "not send, its max_messages",
    404: "no such sender in the gateway owner's subtree, or no charge under the reference",
    409: "the charge was refunded already",
    413: "the body is over the size limit",
    415: "the body is not JSON",
    429: "too many requests",
}


def _answers() -> dict[int, tuple[str, Body | None]]:
    out: dict[int, tuple[str, Body | None]] = {200: ("the charge", Body.of(ChargeResponse))}
    for status, text in _ERRORS.items():
        body = Body.of(BodyTooLarge) if status == 413 else Body.of(ErrorResponse)
        out[status] = (text, body)
    return out


def _op(path: str, summary: str, request: type[Any], required: tuple[str, ...],
        **extra: Any) -> Operation:  # fmt: skip
    return Operation(path=path, method="POST", summary=summary, responses=_answers(),
                     request=Body.of(request, JSON), security=("gatewayKey",),
                     required=required, body_required=True, **extra)  # fmt: skip


OPERATIONS = (
    _op("/charging/v1/charge", "authorize and debit one message before sending it",
        ChargeRequest, ("reference", "recipients"),
        one_of=(("apikey", "username", "account_id"), ("text", "parts"))),
    _op("/charging/v1/refund", "give back the parts of a charge that were not delivered",
        RefundRequest, ("reference", "parts")),
)  # fmt: skip
