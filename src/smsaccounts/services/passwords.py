"""A user's password: its format, a change by the user, and a reset sent by SMS.

Either way every token of the user stops working (`auth.set_password`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from smsaccounts.domain import credentials, throttle, user_settings
from smsaccounts.domain.models import Account
from smsaccounts.errors import Blocked, ErrorCode, InvalidField, MissingField
from smsaccounts.services import auth, msisdns, outbox
from smsaccounts.services.ports import UnitOfWork
from smsaccounts.services.sessions import Caller


def checked_password(raw: str | None) -> str:
    """`raw`, if it may be a user's new password (MissingField or InvalidField if not)."""
    if raw is None or raw == "":
        raise MissingField("password missing", field="password")
    if not user_settings.password_format_ok(raw):
        raise InvalidField(
            "password must be 4-15 characters", field="password", code=ErrorCode.PASSWORD_FORMAT
        )
    return raw


def change_password(uow: UnitOfWork, user: Account, *, password: str | None) -> None:
    """A new password; every token of the user, the caller's included, stops working."""
    new_password = checked_password(password)
    with uow.write() as tx:
        auth.set_password(uow, tx, user, new_password)


def reset_password(uow: UnitOfWork, caller: Caller, *, msisdn: Any) -> None:
    """Send a generated password by SMS; an unknown msisdn answers the same and sends nothing.

    A second reset within `reset_block_seconds` of the last is refused (Blocked,
    RESET_BLOCKED); the spacing is kept per account under a row lock, so of any number of
    concurrent resets exactly one goes through.
    """
    number = msisdns.parse_number(msisdn)
    quota = throttle.Quota(spacing=dt.timedelta(seconds=uow.settings.reset_block_seconds))
    generated = credentials.new_password()
    with uow.write() as tx:
        user = msisdns.user_by_msisdn(tx, caller.owner, number.digits)
        if user is None:
            return
        auth.check_chain_access(tx.accounts.chain(user), caller.ip)
        key = throttle.key("reset", "account", user.id)
        state = tx.throttles.lock(key)
        wait = throttle.quota_wait(quota, state, tx.now)
        if wait:
            until = tx.now + wait
            raise Blocked("password reset blocked", code=ErrorCode.RESET_BLOCKED, until=until)
        auth.set_password(uow, tx, user, generated)
        tx.throttles.put(key, throttle.record_event(quota, state, tx.now))
        outbox.queue(
            tx,
            to_msisdn=number.digits,
            text=f"Your new password is {generated}",
            purpose="password",
            account_id=user.id,
            secret=generated,
        )
