"""The MOR operations for the OpenAPI document, from the Structs in `messages`.

Parameters come from a form or JSON body (POST) or the query string (GET, only when the
installation allows it); every answer is HTTP 200 XML: the result or an `<error>` inside
`<page>` (or `<status>`; a rate-limited request: HTTP 429 with `Retry-After`).
"""

from __future__ import annotations

from typing import Any

from smsaccounts.dialects.mor import IDEMPOTENCY_HEADER, MEDIA_TYPE
from smsaccounts.dialects.mor.messages import (
    BalanceUpdated,
    ErrorDocument,
    Page,
    UserBalanceUpdate,
    UserDetailsGet,
)
from smsaccounts.openapi import FORM, JSON, Body, BodyTooLarge, Operation, Param

_ERROR = (ErrorDocument, "page")
# function -> (its parameters, its answers, summary, required parameters, one-of groups)
_FUNCTIONS: dict[str, tuple[type[Any], Body, str, tuple[str, ...], tuple[tuple[str, ...], ...]]]
_FUNCTIONS = {
    "user_details_get": (
        UserDetailsGet,
        Body(((Page, "page"), _ERROR), (MEDIA_TYPE,)),
        "a user's details (hash over user_id, username)",
        ("u", "hash"),
        (("user_id", "username"),),
    ),
    "user_balance_update": (
        UserBalanceUpdate,
        Body(((BalanceUpdated, "page"), _ERROR, (ErrorDocument, "status")), (MEDIA_TYPE,)),
        "add `balance` to a user's money balance (hash over user_id, balance)",
        ("u", "user_id", "balance", "hash"),
        (),
    ),
}
_ALIASES = {"user_details": "user_details_get", "user_balance_change": "user_balance_update"}
_IDEMPOTENCY = Param(
    IDEMPOTENCY_HEADER, "header", str, description="applies a balance update at most once"
)


def _operation(name: str, method: str) -> Operation:
    params, answer, summary, required, one_of = _FUNCTIONS[_ALIASES.get(name, name)]
    alias = f" (old name of {_ALIASES[name]})" if name in _ALIASES else ""
    extra: dict[str, Any] = (
        {"request": Body.of(params, FORM, JSON)} if method == "POST" else {"query": params}
    )
    return Operation(
        path=f"/billing/api/{name}",
        method=method,
        summary=summary + alias,
        description="GET answers `<error>GET Requests are disabled</error>` unless allowed.",
        params=(_IDEMPOTENCY,) if "balance" in name else (),
        required=required,
        one_of=one_of,
        responses={
            200: ("the result, or an <error>", answer),
            413: ("the body is over the size limit", Body.of(BodyTooLarge)),
            429: ("too many requests (see `Retry-After`)", Body((_ERROR,), (MEDIA_TYPE,))),
        },
        **extra,
    )


OPERATIONS = tuple(
    _operation(name, method) for name in (*_FUNCTIONS, *_ALIASES) for method in ("GET", "POST")
)
