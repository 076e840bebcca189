"""The reseller operations for the OpenAPI document, from the parameter Structs in
`messages` (read from the query string, a form body or a JSON object body)."""

from __future__ import annotations

from typing import Any

from smsaccounts.dialects.reseller import ENDPOINTS, METHODS, PREFIX
from smsaccounts.dialects.reseller import messages as m
from smsaccounts.openapi import FORM, JSON, Body, BodyTooLarge, Operation

# Endpoint -> (its parameters, its success answer).
_SHAPES: dict[str, tuple[type[Any], type[Any]]] = {
    "customer/create": (m.CustomerCreate, m.Created),
    "user/create": (m.UserCreate, m.Created),
    "customer-user/create": (m.CustomerUserCreate, m.CustomerUserCreated),
    "admin/addCredits": (m.AddCredits, m.Credits),
    "admin/balance": (m.Balance, m.Credits),
}
_DESCRIPTION = (
    "Parameters arrive in the query string, a form body or a JSON object body (the body "
    "wins). Every answer is HTTP 200; a non-zero `status` is an error with a `message`, "
    "and statuses 1 and 2 name the parameter in `field`. Only a rate-limited request "
    "answers HTTP 429 (status 429, with `Retry-After`)."
)


def _operation(path: str, method: str) -> Operation:
    params, success = _SHAPES[path]
    needs = m.NEEDS[params]
    body: dict[str, Any] = (
        {"query": params} if method == "GET" else {"request": Body.of(params, FORM, JSON)}
    )
    return Operation(
        path=f"{PREFIX}/{path}",
        method=method,
        summary=(params.__doc__ or path).strip().partition(": ")[2].split("\n")[0] or path,
        description=_DESCRIPTION,
        required=needs.required,
        one_of=needs.one_of,
        **body,
        responses={
            200: (
                "status 0 and the result, or a non-zero status",
                Body(((success, None), (m.Error, None))),
            ),
            413: ("the body is over the size limit", Body.of(BodyTooLarge)),
            429: ("too many requests (status 429; see `Retry-After`)", Body.of(m.Error)),
        },
    )


OPERATIONS = tuple(
    _operation(path, method) for path in ENDPOINTS for method in METHODS.get(path, ("POST",))
)
