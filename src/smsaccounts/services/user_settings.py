"""What a logged-in user reads and sets about itself: features, settings, SMS routes."""

from __future__ import annotations

import dataclasses
from typing import Any

from smsaccounts.domain import user_settings
from smsaccounts.domain.models import Account
from smsaccounts.errors import InvalidField, MissingField
from smsaccounts.services import accounts, audit
from smsaccounts.services.msisdns import parse_number
from smsaccounts.services.ports import UnitOfWork


@dataclasses.dataclass(frozen=True, slots=True)
class UserSettings:
    sms_routing: int
    signature: str
    a2a_send_enabled: bool
    a2a_receive_enabled: bool


def features(user: Account) -> list[str]:
    return user_settings.features(user)


def get_settings(user: Account) -> UserSettings:
    return UserSettings(
        user.sms_routing, user.signature, user.a2a_send_enabled, user.a2a_receive_enabled
    )


def set_settings(
    uow: UnitOfWork,
    user: Account,
    *,
    sms_routing: int | None,
    signature: str | None,
    a2a_send_enabled: bool | None,
    a2a_receive_enabled: bool | None,
) -> None:
    """All four settings are required: a partial set would leave the user guessing."""
    values = {
        "sms_routing": sms_routing,
        "signature": signature,
        "a2a_send_enabled": a2a_send_enabled,
        "a2a_receive_enabled": a2a_receive_enabled,
    }
    for field, value in values.items():
        if value is None:
            raise MissingField(f"{field} missing", field=field)
    if sms_routing not in user_settings.ROUTINGS:
        raise InvalidField("smsRouting must be 0, 1 or 2", field="sms_routing")
    if len(signature or "") > user_settings.SIGNATURE_MAX:
        raise InvalidField("signature too long", field="signature")
    with uow.write() as tx:
        accounts.apply_changes(tx, user, values, action="settings.set")


def set_route(uow: UnitOfWork, user: Account, *, recipient: Any, sms_routing: int | None) -> None:
    number = parse_number(recipient, field="recipient")
    if sms_routing is None:
        raise MissingField("smsRouting missing", field="sms_routing")
    if sms_routing not in user_settings.RECIPIENT_ROUTINGS:
        raise InvalidField("smsRouting must be 0 or 1", field="sms_routing")
    with uow.write() as tx:
        field = f"sms_route:{number.digits}"  # one setting per recipient
        before = {field: tx.accounts.get_route(user.id, number.digits)}
        tx.accounts.set_route(user.id, number.digits, sms_routing)
        audit.record(tx, "route.set", user.id, before=before, after={field: sms_routing})


def get_route(uow: UnitOfWork, user: Account, *, recipient: Any) -> tuple[str, int]:
    """(recipient digits, the effective route 0 or 1 for it)."""
    number = parse_number(recipient, field="recipient")
    with uow.read() as tx:
        explicit = tx.accounts.get_route(user.id, number.digits)
    route = user_settings.effective_route(
        explicit=explicit,
        user_routing=user.sms_routing,
        user_country=user.country,
        recipient_country=number.country,
    )
    return number.digits, route
