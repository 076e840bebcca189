"""Use cases of the mysms user API: register by PIN, log in, settings, routes, reset, delete.

Every call is made by a client application (`Caller`: its API key and the customer owning
it); users registered through a key live under that customer, and a user outside that
customer's subtree is treated exactly as one that does not exist.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from smsaccounts.domain import credentials, mysms, throttle, tree
from smsaccounts.domain.models import Account, ApiKey, BillingType, Principal
from smsaccounts.domain.phone import Msisdn, PhoneError, parse_msisdn
from smsaccounts.domain.tree import Kind
from smsaccounts.errors import (
    AccessDenied,
    AlreadyExists,
    AuthenticationFailed,
    Blocked,
    ErrorCode,
    InvalidField,
    MissingField,
    NotFound,
)
from smsaccounts.services import accounts, auth, outbox
from smsaccounts.storage.hotpath import KeyRead
from smsaccounts.storage.unit_of_work import Tx, UnitOfWork

RIGHT_CREATE = "user.create"
RIGHT_DELETE = "user.delete"


@dataclasses.dataclass(frozen=True, slots=True)
class Caller:
    key: ApiKey
    owner: Principal
    ip: str | None
    key_hash: str
    token_hash: str | None  # the token the key was read with, if the request carried one
    read: KeyRead


@dataclasses.dataclass(frozen=True, slots=True)
class UserSettings:
    sms_routing: int
    signature: str
    a2a_send_enabled: bool
    a2a_receive_enabled: bool


# -- who is calling ----------------------------------------------------------------------


def client(
    uow: UnitOfWork, *, api_key: str | None, client_ip: str | None, auth_token: str | None = None
) -> Caller:
    """The client application behind `api_key`; a user's own (LINK) key is not one.

    One statement reads the key, its owner and, when `auth_token` is given, the token's
    user and wallet: an authenticated call costs a single indexed read.
    """
    key_hash, token_hash = _hashes(api_key, auth_token)
    return _caller(uow.hot.key_session(key_hash, token_hash), key_hash, token_hash, client_ip)


async def client_async(
    uow: UnitOfWork, *, api_key: str | None, client_ip: str | None, auth_token: str | None = None
) -> Caller:
    """`client` for a caller on the event loop; the storage chooses how to wait for it."""
    key_hash, token_hash = _hashes(api_key, auth_token)
    read = await uow.hot.read(key_hash, token_hash)
    return _caller(read, key_hash, token_hash, client_ip)


def _hashes(api_key: str | None, auth_token: str | None) -> tuple[str, str | None]:
    if not api_key:
        raise AuthenticationFailed("api key missing", code=ErrorCode.API_KEY_INVALID)
    token_hash = credentials.secret_hash(auth_token) if auth_token else None
    return credentials.secret_hash(api_key), token_hash


def _caller(
    read: KeyRead | None, key_hash: str, token_hash: str | None, client_ip: str | None
) -> Caller:
    if read is None:
        raise AuthenticationFailed("api key invalid", code=ErrorCode.API_KEY_INVALID)
    auth.check_key_access(read.key, read.owner, client_ip)
    if read.key.purpose != "client":
        raise AuthenticationFailed("not a client application key", code=ErrorCode.API_KEY_INVALID)
    return Caller(read.key, read.owner, client_ip, key_hash, token_hash, read)


def session_principal(
    uow: UnitOfWork, caller: Caller, *, auth_token: str | None
) -> tuple[Principal, KeyRead]:
    """The user behind `auth_token`, only under the key's customer, with its wallet figures.

    The subtree check comes before the user's own access checks so that a token of another
    tenant answers "invalid token", never "disabled" or "IP not allowed".
    """
    if not auth_token:
        raise AuthenticationFailed("auth token missing", code=ErrorCode.TOKEN_INVALID)
    token_hash = credentials.secret_hash(auth_token)
    read: KeyRead | None = caller.read
    if token_hash != caller.token_hash:
        read = uow.hot.key_session(caller.key_hash, token_hash)
    user = read.user if read else None
    if read is None or user is None or not tree.can_access(caller.owner.path, user.path):
        raise AuthenticationFailed("auth token invalid", code=ErrorCode.TOKEN_INVALID)
    auth.check_account_access(user, caller.ip)
    return user, read


def session(uow: UnitOfWork, caller: Caller, *, auth_token: str | None) -> Account:
    """The whole account behind `auth_token`, for the calls that need more than its wallet."""
    user, _read = session_principal(uow, caller, auth_token=auth_token)
    with uow.read() as tx:
        account = tx.accounts.get(user.id)
    if account is None:  # pragma: no cover - accounts are never removed
        raise AuthenticationFailed("auth token invalid", code=ErrorCode.TOKEN_INVALID)
    return account


# -- msisdns and PINs --------------------------------------------------------------------


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


# -- registration and login --------------------------------------------------------------


def _password(raw: str | None) -> str:
    if raw is None or raw == "":
        raise MissingField("password missing", field="password")
    if not mysms.password_format_ok(raw):
        raise InvalidField(
            "password must be 4-15 characters", field="password", code=ErrorCode.PASSWORD_FORMAT
        )
    return raw


def create_user(
    uow: UnitOfWork, caller: Caller, *, msisdn: Any, password: str | None, pin: Any
) -> str:
    """Register a user with a verified msisdn under the key's customer; answer a token."""
    auth.require_right(caller.key, RIGHT_CREATE)
    if caller.owner.kind is not Kind.CUSTOMER:
        raise AccessDenied("only a customer's key registers users", code=ErrorCode.RIGHT_MISSING)
    new_password = _password(password)
    number = _registered_number(uow, msisdn)
    text = _pin_text(pin)
    password_hash = uow.passwords.hash(new_password)  # slow: outside the write lock
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


def _user_by_msisdn(tx: Tx, owner: Principal, digits: str) -> Account | None:
    """The live user with that msisdn, if it is the owner's; another tenant's is "none"."""
    user = tx.accounts.get_by_msisdn(digits)
    if user is None or user.kind is not Kind.USER or not tree.can_access(owner.path, user.path):
        return None
    return user


def login(
    uow: UnitOfWork,
    caller: Caller,
    *,
    msisdn: Any,
    password: str | None,
    key: str | None,
    check_key: bool,
) -> str:
    """Password login under the lockout, then the device key rule; answers a new token.

    With `check_key` the key must equal the one stored at the last login that gave one;
    without it a given key replaces the stored one.
    """
    number = parse_number(msisdn)
    check_country(uow, number, require_valid=False)
    if not password:
        raise MissingField("password missing", field="password")
    if key is not None and len(key) > mysms.KEY_MAX:
        raise InvalidField("key longer than 64 characters", field="key")
    hashed_key = credentials.secret_hash(key) if key else None

    def device_key_and_token(tx: Tx, user: Account) -> str:
        auth.check_account_access(user, caller.ip)
        if check_key:
            stored = user.login_key_hash
            if hashed_key is None or stored is None or not credentials.same(stored, hashed_key):
                raise AuthenticationFailed("key wrong", code=ErrorCode.DEVICE_KEY_WRONG)
        elif hashed_key is not None:
            tx.accounts.update(user.id, {"login_key_hash": hashed_key})
        return auth.issue_token(tx, user)

    try:
        return auth.password_login(
            uow,
            # Counted per tenant: another tenant's guesses at this msisdn never lock it out.
            throttle_key=f"msisdn:{caller.owner.id}:{number.digits}",
            find=lambda tx: _user_by_msisdn(tx, caller.owner, number.digits),
            password=password,
            then=device_key_and_token,
        )
    except (NotFound, Blocked):
        if uow.settings.login_uniform_errors:
            # Unknown and blocked answer as a wrong password: nothing tells them apart.
            raise AuthenticationFailed("credentials wrong") from None
        raise


# -- the logged-in user ------------------------------------------------------------------


def balance(uow: UnitOfWork, caller: Caller, *, auth_token: str | None) -> tuple[int, int]:
    """(free SMS, credits) of the token's user, from the same read that checked the token."""
    _user, read = session_principal(uow, caller, auth_token=auth_token)
    return read.free_sms, read.credits


def features(user: Account) -> list[str]:
    return mysms.features(user)


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
    if sms_routing not in mysms.ROUTINGS:
        raise InvalidField("smsRouting must be 0, 1 or 2", field="sms_routing")
    if len(signature or "") > mysms.SIGNATURE_MAX:
        raise InvalidField("signature too long", field="signature")
    with uow.write() as tx:
        accounts.apply_changes(tx, user, values)


def set_route(uow: UnitOfWork, user: Account, *, recipient: Any, sms_routing: int | None) -> None:
    number = parse_number(recipient, field="recipient")
    if sms_routing is None:
        raise MissingField("smsRouting missing", field="sms_routing")
    if sms_routing not in mysms.RECIPIENT_ROUTINGS:
        raise InvalidField("smsRouting must be 0 or 1", field="sms_routing")
    with uow.write() as tx:
        tx.accounts.set_route(user.id, number.digits, sms_routing)


def get_route(uow: UnitOfWork, user: Account, *, recipient: Any) -> tuple[str, int]:
    """(recipient digits, the effective route 0 or 1 for it)."""
    number = parse_number(recipient, field="recipient")
    with uow.read() as tx:
        explicit = tx.accounts.get_route(user.id, number.digits)
    route = mysms.effective_route(
        explicit=explicit,
        user_routing=user.sms_routing,
        user_country=user.country,
        recipient_country=number.country,
    )
    return number.digits, route


def change_password(uow: UnitOfWork, user: Account, *, password: str | None) -> None:
    """A new password; every token of the user, the caller's included, stops working."""
    new_password = _password(password)
    with uow.write() as tx:
        auth.set_password(uow, tx, user, new_password)


def reset_password(uow: UnitOfWork, caller: Caller, *, msisdn: Any) -> None:
    """Send a generated password by SMS; an unknown msisdn answers the same and sends nothing.

    A second reset within `reset_block_seconds` of the last is refused (Blocked, RESET_BLOCKED).
    """
    number = parse_number(msisdn)
    spacing = dt.timedelta(seconds=uow.settings.reset_block_seconds)
    generated = credentials.new_password()
    with uow.write() as tx:
        user = _user_by_msisdn(tx, caller.owner, number.digits)
        if user is None:
            return
        auth.check_account_access(user, caller.ip)
        key = f"reset:{number.digits}"
        state = tx.throttles.get(key)
        if throttle.too_soon(state, tx.now, spacing):
            until = state.last_at + spacing if state.last_at else None
            raise Blocked("password reset blocked", code=ErrorCode.RESET_BLOCKED, until=until)
        auth.set_password(uow, tx, user, generated)
        tx.throttles.put(key, dataclasses.replace(state, last_at=tx.now))
        outbox.queue(
            tx,
            to_msisdn=number.digits,
            text=f"Your new password is {generated}",
            purpose="password",
            account_id=user.id,
        )


def delete_user(uow: UnitOfWork, caller: Caller, *, auth_token: str | None) -> None:
    """Deactivate the token's user: tokens revoked, msisdn freed, ledger kept."""
    auth.require_right(caller.key, RIGHT_DELETE)
    user = session(uow, caller, auth_token=auth_token)
    with uow.write() as tx:
        current = tx.accounts.get(user.id)
        if current is not None:
            accounts.deactivate(tx, current)
