"""Authentication: passwords (with lockout), API keys, auth tokens; issuing and revoking them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from smsaccounts import logs
from smsaccounts.config import Settings
from smsaccounts.domain import credentials, password_policy, throttle
from smsaccounts.domain.models import Account, ApiKey, Principal
from smsaccounts.domain.network import ip_allowed, normalize_ranges
from smsaccounts.domain.tree import Kind
from smsaccounts.errors import (
    AccessDenied,
    AccountDisabled,
    AuthenticationFailed,
    Blocked,
    ErrorCode,
    InvalidField,
    NotFound,
)
from smsaccounts.services import audit
from smsaccounts.services.ports import Tx, UnitOfWork, UnitOfWorkOf

T = TypeVar("T")
TxT = TypeVar("TxT", bound=Tx)  # the caller's own kind of transaction, for its callbacks


def login_rule(settings: Settings) -> throttle.Rule:
    return throttle.Rule(
        max_failures=settings.login_max_failures,
        window=dt.timedelta(seconds=settings.login_window_seconds),
        block=dt.timedelta(seconds=settings.login_block_seconds),
    )


def authenticate_password(
    uow: UnitOfWorkOf[TxT],
    *,
    throttle_key: str,
    find: Callable[[TxT], Account | None],
    password: str,
) -> Account:
    """Check a password against the account `find` returns, under the login lockout."""
    return password_login(
        uow, throttle_key=throttle_key, find=find, password=password, then=_itself
    )


def _itself(_tx: Tx, account: Account) -> Account:
    return account


def password_login(
    uow: UnitOfWorkOf[TxT],
    *,
    throttle_key: str,
    find: Callable[[TxT], Account | None],
    password: str,
    then: Callable[[TxT, Account], T],
) -> T:
    """Check a password under the login lockout; on success run `then` in the same write.

    The argon2 verify runs in every branch (blocked, unknown, wrong) so that the time taken
    tells nothing. Failures for unknown names count too, so guessing them is throttled.
    What a successful login leads to (a token, a stored device key) commits together with
    the lockout state: one transaction, one sync to disk.
    Raises Blocked, NotFound (ACCOUNT_UNKNOWN), AuthenticationFailed or AccountDisabled.
    """
    rule = login_rule(uow.settings)
    key = f"login:{throttle_key}"
    with uow.read() as tx:
        account = find(tx)
        state = tx.throttles.get(key)
    stored = account.password_hash if account else None
    correct = uow.passwords.verify(stored, password)
    now = uow.clock.now()
    with uow.write() as tx:
        state = tx.throttles.get(key)
        blocked = throttle.is_blocked(state, now)
        if blocked or account is None or not correct:
            # While blocked the (unchanged) state is written too: a locked, an unknown and a
            # wrong login run the same statements, so their timing tells nothing apart.
            tx.throttles.put(key, throttle.record_failure(rule, state, now))
        else:
            if state != throttle.State():
                tx.throttles.put(key, throttle.record_success(state, now))
            if stored and uow.passwords.needs_rehash(stored):
                tx.accounts.update(account.id, {"password_hash": uow.passwords.hash(password)})
            if not account.active:
                raise AccountDisabled("account disabled", account_id=account.id)
            audit.note_actor(account.id)
            return then(tx, account)
    if blocked:
        raise Blocked("login blocked", until=state.blocked_until)
    if account is None:
        raise NotFound("account not found", code=ErrorCode.ACCOUNT_UNKNOWN)
    raise AuthenticationFailed("wrong password")


def hash_new_password(uow: UnitOfWorkOf[TxT], password: str | None) -> str:
    """The hash of a new password that passes the installation's one password policy."""
    settings = uow.settings
    checked = password_policy.check(
        password,
        min_length=settings.password_min_length,
        max_length=settings.password_max_length,
    )
    return uow.passwords.hash(checked)


def set_password(uow: UnitOfWork, tx: Tx, account: Account, password: str) -> None:
    """Store a new password (under the password policy) and revoke every auth token."""
    tx.accounts.update(account.id, {"password_hash": hash_new_password(uow, password)})
    audit.record(tx, "password.set", account.id, after={"password": True})
    tx.credentials.revoke_tokens(account.id, tx.now)


def issue_token(tx: Tx, account: Account) -> str:
    token = credentials.new_token()
    tx.credentials.add_token(account.id, credentials.secret_hash(token), tx.now)
    return token


def change_password(uow: UnitOfWork, *, account_id: int, password: str | None) -> None:
    """An operator's new password for any account (the admin too); its tokens stop working."""
    password_hash = hash_new_password(uow, password)  # slow: outside the write lock
    with uow.write() as tx:
        tx.accounts.update(account_id, {"password_hash": password_hash})
        tx.credentials.revoke_tokens(account_id, tx.now)
        audit.record(tx, "password.set", account_id, after={"password": True})


def revoke_tokens(uow: UnitOfWork, *, account_id: int) -> int:
    with uow.write() as tx:
        return tx.credentials.revoke_tokens(account_id, tx.now)


def authenticate_token(uow: UnitOfWork, *, token: str, client_ip: str | None) -> Account:
    """The live account behind an auth token, checked against its IP ranges."""
    with uow.read() as tx:
        account = tx.credentials.account_for_token(credentials.secret_hash(token))
    if account is None:
        raise AuthenticationFailed("auth token invalid", code=ErrorCode.TOKEN_INVALID)
    check_account_access(account, client_ip)
    return account


def authenticate_api_key(
    uow: UnitOfWork, *, key: str, client_ip: str | None
) -> tuple[ApiKey, Account]:
    """The live API key and its owner; the client IP must be inside both's allowed ranges."""
    with uow.read() as tx:
        found = tx.credentials.key_with_owner(credentials.secret_hash(key))
    if found is None:
        raise AuthenticationFailed("api key invalid", code=ErrorCode.API_KEY_INVALID)
    api_key, owner = found
    check_key_access(api_key, owner, client_ip)
    return api_key, owner


def authenticate_user_key(uow: UnitOfWork, *, key: str, client_ip: str | None) -> Account:
    """The user behind its own API key (LINK): a client application's key is not one."""
    api_key, owner = authenticate_api_key(uow, key=key, client_ip=client_ip)
    if api_key.purpose != "user" or owner.kind is not Kind.USER:
        raise AuthenticationFailed("not a user's own key", code=ErrorCode.API_KEY_INVALID)
    return owner


def authenticate_user_password(
    uow: UnitOfWork, *, username: str, password: str, client_ip: str | None
) -> Account:
    """A user by name and password, under the login lockout and its own IP ranges."""
    account = authenticate_password(
        uow,
        throttle_key=f"user:{username}",
        find=lambda tx: tx.accounts.get_by_name(Kind.USER, username),
        password=password,
    )
    check_account_access(account, client_ip)
    return account


def check_key_access(api_key: ApiKey, owner: Account | Principal, client_ip: str | None) -> None:
    """A key works while enabled, from inside its own ranges, for an owner that may act."""
    if not api_key.active:
        raise AccessDenied("api key disabled", code=ErrorCode.KEY_DISABLED)
    if not ip_allowed(api_key.allowed_ips, client_ip):
        raise AccessDenied("client IP not allowed for this key", code=ErrorCode.IP_NOT_ALLOWED)
    check_account_access(owner, client_ip)


def check_account_access(account: Account | Principal, client_ip: str | None) -> None:
    """An account acts only while active and only from inside its own `iprange`."""
    if not account.active:
        raise AccountDisabled("account disabled", account_id=account.id)
    if not ip_allowed(account.iprange, client_ip):
        raise AccessDenied("client IP not allowed for this account", code=ErrorCode.IP_NOT_ALLOWED)
    logs.note_caller(account.id)
    audit.note_actor(account.id)


def require_right(api_key: ApiKey, right: str) -> None:
    if right not in api_key.rights:
        raise AccessDenied(f"api key lacks the right {right}", code=ErrorCode.RIGHT_MISSING)


def create_api_key(
    uow: UnitOfWork,
    *,
    owner_id: int,
    name: str,
    purpose: str = "client",
    rights: frozenset[str] = frozenset(),
    allowed_ips: str = "",
) -> tuple[ApiKey, str]:
    """A new key for `owner_id`; the plaintext is returned once and never stored."""
    with uow.write() as tx:
        return add_api_key(
            tx,
            owner_id=owner_id,
            name=name,
            purpose=purpose,
            rights=rights,
            allowed_ips=allowed_ips,
        )


def add_api_key(
    tx: Tx,
    *,
    owner_id: int,
    name: str,
    purpose: str,
    rights: frozenset[str] = frozenset(),
    allowed_ips: str = "",
) -> tuple[ApiKey, str]:
    try:
        ranges = normalize_ranges(allowed_ips)
    except ValueError as error:
        raise InvalidField(str(error), field="allowed_ips") from None
    plaintext = credentials.new_api_key()
    api_key = tx.credentials.add_key(
        account_id=owner_id,
        name=name,
        purpose=purpose,
        key_hash=credentials.secret_hash(plaintext),
        rights=" ".join(sorted(rights)),
        allowed_ips=ranges,
        now=tx.now,
    )
    created = {"key_id": api_key.id, "name": name, "purpose": purpose,
               "rights": " ".join(sorted(rights)), "allowed_ips": ranges}  # fmt: skip
    audit.record(tx, "apikey.create", owner_id, after=created)
    return api_key, plaintext


def set_mor_secret(uow: UnitOfWork, *, account_id: int, secret: str | None) -> None:
    """The MOR API secret is a shared key the hash is built with, so it is kept as given."""
    with uow.write() as tx:
        if tx.accounts.get(account_id) is None:
            raise NotFound("account not found")
        tx.accounts.update(account_id, {"mor_secret": secret or None})
        audit.record(tx, "secret.set", account_id, after={"mor_secret": "set" if secret else None})
