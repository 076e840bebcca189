"""A user's life under a client application: its msisdn verified by PIN, its registration,
and its deletion.

Only a key with `user.create` may ask for or check a PIN (it alone can register the
number). A PIN goes out by SMS only to an msisdn that is not registered yet, at most one
per `pin_resend_seconds` and `pin_daily_max` a day per number, whoever asks. Wrong checks
are counted per msisdn, per client IP and per client key (each under its row lock), and
any of the three that is over its limit stops checks from being evaluated at all (404), so
guesses spread over many numbers stop long before they pay off; registration uses the PIN
up.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from smsaccounts.domain import credentials, funding, phone, throttle
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
    RateLimited,
)
from smsaccounts.services import accounts, auth, outbox
from smsaccounts.services.msisdns import check_country, parse_number
from smsaccounts.services.passwords import checked_password
from smsaccounts.services.ports import SessionsUnitOfWork, Tx, UnitOfWork
from smsaccounts.services.sessions import Caller, session

RIGHT_CREATE = "user.create"
RIGHT_DELETE = "user.delete"
HOUR = dt.timedelta(hours=1)


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


def pin_sms_quota(uow: UnitOfWork) -> throttle.Quota:
    return throttle.Quota(
        spacing=dt.timedelta(seconds=uow.settings.pin_resend_seconds),
        max_events=uow.settings.pin_daily_max,
        window=dt.timedelta(days=1),
    )


def pin_counters(uow: UnitOfWork, caller: Caller, digits: str) -> list[tuple[str, throttle.Rule]]:
    """The counts a wrong PIN check adds to (the msisdn's, the client IP's, the client
    key's), in the one order every transaction locks them in, so two never deadlock."""
    per_ip = uow.settings.pin_failures_per_ip
    per_key = uow.settings.pin_failures_per_key
    counters = [
        (throttle.key("pin", "msisdn", digits), pin_rule(uow)),
        (throttle.key("pin", "ip", caller.ip or ""), throttle.Rule(per_ip, HOUR, HOUR)),
        (throttle.key("pin", "key", caller.key.id), throttle.Rule(per_key, HOUR, HOUR)),
    ]
    return sorted(counters, key=lambda counter: counter[0])


def _require_pin_right(caller: Caller) -> None:
    auth.require_right(caller.key, RIGHT_CREATE, code=ErrorCode.PIN_NOT_ALLOWED)


def _refuse_registered(tx: Tx, digits: str) -> None:
    if tx.accounts.get_by_msisdn(digits) is not None:
        raise AlreadyExists(
            "msisdn already registered", code=ErrorCode.MSISDN_TAKEN, field="msisdn"
        )


def _pin_accepted(uow: UnitOfWork, tx: Tx, caller: Caller, digits: str, pin: str) -> bool:
    """Check a PIN under the check blocks; a failure is written to `tx`, which must commit.

    A wrong, expired or already used PIN is one failure of the msisdn, the client IP and
    the client key; while any of them is blocked even the right PIN is refused (Blocked),
    so guessing gains nothing. A success clears the msisdn's count only.
    """
    counters = pin_counters(uow, caller, digits)
    states = {key: tx.throttles.lock(key) for key, _rule in counters}
    blocks = [s.blocked_until for s in states.values() if throttle.is_blocked(s, tx.now)]
    if blocks:
        until = max(b for b in blocks if b is not None)
        raise Blocked("pin checks blocked", code=ErrorCode.PIN_BLOCKED, until=until)
    row = tx.credentials.get_pin(digits)
    ok = (
        row is not None
        and row.consumed_at is None
        and tx.now < row.expires_at
        and credentials.same(row.pin_hash, credentials.pin_hash(digits, pin))
    )
    if not ok:
        for key, rule in counters:
            tx.throttles.put(key, throttle.record_failure(rule, states[key], tx.now))
        return False
    number_key = throttle.key("pin", "msisdn", digits)
    if states[number_key] != throttle.State():
        tx.throttles.put(number_key, throttle.record_success(states[number_key], tx.now))
    return True


def request_pin(uow: UnitOfWork, caller: Caller, *, msisdn: Any) -> None:
    """Queue a fresh 6-digit PIN by SMS for an unregistered msisdn (it replaces an older one).

    Refused (RateLimited) within `pin_resend_seconds` of the number's last PIN SMS and
    after `pin_daily_max` of them in a day, whichever key asks.
    """
    _require_pin_right(caller)
    number = _registered_number(uow, msisdn)
    pin = credentials.new_pin()
    ttl = dt.timedelta(seconds=uow.settings.pin_ttl_seconds)
    quota = pin_sms_quota(uow)
    with uow.write() as tx:
        _refuse_registered(tx, number.digits)
        key = throttle.key("pin-sms", "msisdn", number.digits)
        state = tx.throttles.lock(key)
        wait = throttle.quota_wait(quota, state, tx.now)
        if wait:
            raise RateLimited("PIN SMS to this number too often", retry_after=wait.total_seconds())
        tx.throttles.put(key, throttle.record_event(quota, state, tx.now))
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


def check_pin(uow: UnitOfWork, caller: Caller, *, msisdn: Any, pin: Any) -> None:
    """Check a PIN without using it up (create consumes it)."""
    _require_pin_right(caller)
    number = _registered_number(uow, msisdn)
    text = _pin_text(pin)
    with uow.write() as tx:
        _refuse_registered(tx, number.digits)
        if _pin_accepted(uow, tx, caller, number.digits, text):
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
        accepted = _pin_accepted(uow, tx, caller, number.digits, text)
        parent = tx.accounts.get(caller.owner.id)
        if accepted and parent is not None and tx.credentials.consume_pin(number.digits, tx.now):
            # The customer and its ancestors may still act, and stay so until this commits.
            auth.check_chain_access(tx.accounts.chain(parent, lock=True), caller.ip)
            user = accounts.add(
                tx,
                kind=Kind.USER,
                # Named by its msisdn in a form no other name may take (`phone.msisdn_name`):
                # no LINK or reseller username can ever stand in a number's way.
                name=phone.msisdn_name(number.digits),
                parent=parent,
                password_hash=password_hash,
                billing_type=BillingType.PRE_PAID,
                msisdn=number.digits,
                country=number.country,
                door=funding.Door.MYSMS,
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
