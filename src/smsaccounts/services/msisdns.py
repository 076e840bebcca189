"""Msisdns as a request gives them: parsed, checked against the allowed countries, and the
user one names under a tenant (a user outside the tenant's subtree is no user at all).
"""

from __future__ import annotations

from typing import Any

from smsaccounts.domain import tree
from smsaccounts.domain.models import Account, Principal
from smsaccounts.domain.phone import Msisdn, PhoneError, parse_msisdn
from smsaccounts.domain.tree import Kind
from smsaccounts.errors import ErrorCode, InvalidField, MissingField
from smsaccounts.services.ports import Tx, UnitOfWork


def parse_number(raw: Any, *, field: str = "msisdn") -> Msisdn:
    if raw is None or raw == "":
        raise MissingField(f"{field} missing", field=field)
    try:
        return parse_msisdn(raw)
    except PhoneError as error:
        raise InvalidField(str(error), field=field) from None


def check_country(uow: UnitOfWork, number: Msisdn, *, require_valid: bool = True) -> None:
    """500 when the number's country is not allowed, 501 when it is no valid number there."""
    allowed = uow.settings.allowed_countries
    if allowed and number.country not in allowed:
        code = ErrorCode.COUNTRY_NOT_ALLOWED
        raise InvalidField("country not allowed", field="msisdn", code=code)
    if require_valid and not number.valid:
        code = ErrorCode.MSISDN_INVALID
        raise InvalidField("msisdn invalid for its country", field="msisdn", code=code)


def user_by_msisdn(tx: Tx, owner: Principal, digits: str) -> Account | None:
    """The live user with that msisdn, if it is the owner's; another tenant's is "none"."""
    user = tx.accounts.get_by_msisdn(digits)
    if user is None or user.kind is not Kind.USER or not tree.can_access(owner.path, user.path):
        return None
    return user
