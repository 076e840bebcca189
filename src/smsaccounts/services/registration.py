"""A user's life under a client application: its msisdn verified by PIN, its registration,
and its deletion.

A PIN goes out by SMS only to an msisdn that is not registered yet; checking it is
throttled per msisdn, and registration uses it up.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from smsaccounts.domain import credentials, throttle
from smsaccounts.domain.models import BillingType
from smsaccounts.domain.phone import Msisdn
from smsaccounts.domain.tree import Kind
from smsaccounts.errors import (
    AccessDenied,
    AlreadyExists,
    AuthenticationFailed,
    Blocked,
    ErrorCode,
    MissingField,
)
from smsaccounts.services import accounts, auth, outbox
from smsaccounts.services.msisdns import check_country, parse_number
from smsaccounts.services.passwords import checked_password
from smsaccounts.services.ports import SessionsUnitOfWork, Tx, UnitOfWork
from smsaccounts.services.sessions import Caller, session

RIGHT_CREATE = "user.create"
RIGHT_DELETE = "user.delete"


# -- msisdns and PINs --------------------------------------------------------------------


def _registered_number(uow: UnitOfWork, raw: Any) -> Msisdn:
    number = parse_number(raw)
    check_country(uow, number)
    return number


def _pin_text(raw: Any) -> str:
    if raw is None or raw == "":
        raise MissingField("pin missing", field="pin")
    if isinstance(raw, int) and not isinstance(raw, bool):
        # A JSON number loses leading zeros: 12345 is the PIN 012345.
        return f"{raw:0{credentials.PIN_DIGITS}d}"
    return str(raw).strip()


def pin_rule(uow: UnitOfWork) -> throttle.Rule:
    block = dt.timedelta(seconds=uow.settings.pin_block_seconds)
    return throttle.Rule(max_failures=uow.settings.pin_max_failures, window=block, block=block)


def _refuse_registered(tx: Tx, digits: str) -> None:
    if tx.accounts.get_by_msisdn(digits) is not None:
        raise AlreadyExists(
            "msisdn already registered", code=ErrorCode.MSISDN_TAKEN, field="msisdn"
        )


def _pin_accepted(uow: UnitOfWork, tx: Tx, digits: str, pin: str) -> bool:
    """Check a PIN under the check block; a failure is written to `tx`, which must commit.

    A wrong, expired or already used PIN is one failure; while blocked even the right PIN
    is refused (Blocked), so guessing gains nothing.
    """
    key = f"pin:{digits}"
    state = tx.throttles.get(key)
    if throttle.is_blocked(state, tx.now):
        raise Blocked("pin checks blocked", code=ErrorCode.PIN_BLOCKED, until=state.blocked_until)
    row = tx.credentials.get_pin(digits)
    ok = (
        row is not None
        and row.consumed_at is None
        and tx.now < row.expires_at
        and credentials.same(row.pin_hash, credentials.pin_hash(digits, pin))
    )
    if not ok:
        tx.throttles.put(key, throttle.record_failure(pin_rule(uow), state, tx.now))
    elif state != throttle.State():
        tx.throttles.put(key, throttle.record_success(state, tx.now))
    return ok


def request_pin(uow: UnitOfWork, _caller: Caller, *, msisdn: Any) -> None:
    """Queue a fresh 6-digit PIN by SMS for an unregistered msisdn (it replaces an older one)."""
    number = _registered_number(uow, msisdn)
    pin = credentials.new_pin()
    ttl = dt.timedelta(seconds=uow.settings.pin_ttl_seconds)
    with uow.write() as tx:
        _refuse_registered(tx, number.digits)
        digest = credentials.pin_hash(number.digits, pin)
        tx.credentials.put_pin(number.digits, digest, tx.now, tx.now + ttl)
        outbox.queue(
            tx,
            to_msisdn=number.digits,
            text=f"Your verification PIN is {pin}. It is valid for {ttl.seconds // 60} minutes.",
            purpose="pin",
            account_id=None,
            secret=pin,
            expires_at=tx.now + ttl,  # the PIN's own end: an SMS later than that is no use
        )


def check_pin(uow: UnitOfWork, _caller: Caller, *, msisdn: Any, pin: Any) -> None:
    """Check a PIN without using it up (create consumes it)."""
    number = _registered_number(uow, msisdn)
    text = _pin_text(pin)
    with uow.write() as tx:
        _refuse_registered(tx, number.digits)
        if _pin_accepted(uow, tx, number.digits, text):
            return
    # Raised after the block above committed the failure.
    raise AuthenticationFailed("verify pin invalid", code=ErrorCode.PIN_INVALID)


# -- registration and deletion -----------------------------------------------------------


def create_user(
    uow: UnitOfWork, caller: Caller, *, msisdn: Any, password: str | None, pin: Any
) -> str:
    """Register a user with a verified msisdn under the key's customer; answer a token."""
    auth.require_right(caller.key, RIGHT_CREATE)
    if caller.owner.kind is not Kind.CUSTOMER:
        raise AccessDenied("only a customer's key registers users", code=ErrorCode.RIGHT_MISSING)
    new_password = checked_password(password)
    number = _registered_number(uow, msisdn)
    text = _pin_text(pin)
    password_hash = auth.hash_new_password(uow, new_password)  # slow: outside the write lock
    with uow.write() as tx:
        _refuse_registered(tx, number.digits)
        parent = tx.accounts.get(caller.owner.id)
        if (
            parent is not None
            and _pin_accepted(uow, tx, number.digits, text)
            and tx.credentials.consume_pin(number.digits, tx.now)
        ):
            user = accounts.add(
                tx,
                kind=Kind.USER,
                name=number.digits,
                parent=parent,
                password_hash=password_hash,
                billing_type=BillingType.PRE_PAID,
                msisdn=number.digits,
                country=number.country,
            )
            return auth.issue_token(tx, user)
    raise AuthenticationFailed("verify pin invalid", code=ErrorCode.PIN_INVALID)


def delete_user(uow: SessionsUnitOfWork, caller: Caller, *, auth_token: str | None) -> None:
    """Deactivate the token's user: tokens revoked, msisdn freed, ledger kept."""
    auth.require_right(caller.key, RIGHT_DELETE)
    user = session(uow, caller, auth_token=auth_token)
    with uow.write() as tx:
        current = tx.accounts.get(user.id)
        if current is not None:
            accounts.deactivate(tx, current)
