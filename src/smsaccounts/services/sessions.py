"""Who calls the mysms user API, and as whom: the client application (`Caller`: its API
key and the customer owning it), the user session behind an auth token, password login and
the logged-in user's balance.

Users registered through a key live under that key's customer, and a user outside that
customer's subtree is treated exactly as one that does not exist.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from smsaccounts.domain import credentials, tree, user_settings
from smsaccounts.domain.models import Account, ApiKey, KeySession, Principal
from smsaccounts.errors import (
    AuthenticationFailed,
    Blocked,
    ErrorCode,
    InvalidField,
    MissingField,
    NotFound,
)
from smsaccounts.services import auth
from smsaccounts.services.msisdns import check_country, parse_number, user_by_msisdn
from smsaccounts.services.ports import SessionsUnitOfWork, Tx, UnitOfWork


@dataclasses.dataclass(frozen=True, slots=True)
class Caller:
    key: ApiKey
    owner: Principal
    ip: str | None
    key_hash: str
    token_hash: str | None  # the token the key was read with, if the request carried one
    read: KeySession
    # That token as sent: a handler given the same token again reuses its hash and read.
    token: str | None = dataclasses.field(default=None, repr=False)


# -- who is calling ----------------------------------------------------------------------


def client(
    uow: SessionsUnitOfWork,
    *,
    api_key: str | None,
    client_ip: str | None,
    auth_token: str | None = None,
    key_hash: str | None = None,
) -> Caller:
    """The client application behind `api_key`; a user's own (LINK) key is not one.

    One statement reads the key, its owner and, when `auth_token` is given, the token's
    user and wallet: an authenticated call costs a single indexed read. `key_hash` is
    `api_key`'s hash when the caller has it already (the rate limit counted by it).
    """
    key_hash, token_hash = _hashes(api_key, auth_token, key_hash)
    read = uow.hot.key_session(key_hash, token_hash)
    return _caller(read, key_hash, token_hash, auth_token, client_ip)


async def client_async(
    uow: SessionsUnitOfWork,
    *,
    api_key: str | None,
    client_ip: str | None,
    auth_token: str | None = None,
    key_hash: str | None = None,
) -> Caller:
    """`client` for a caller on the event loop; the storage chooses how to wait for it."""
    key_hash, token_hash = _hashes(api_key, auth_token, key_hash)
    read = await uow.hot.read(key_hash, token_hash)
    return _caller(read, key_hash, token_hash, auth_token, client_ip)


def _hashes(
    api_key: str | None, auth_token: str | None, key_hash: str | None
) -> tuple[str, str | None]:
    if not api_key:
        raise AuthenticationFailed("api key missing", code=ErrorCode.API_KEY_INVALID)
    token_hash = credentials.secret_hash(auth_token) if auth_token else None
    return key_hash or credentials.secret_hash(api_key), token_hash


def _caller(
    read: KeySession | None,
    key_hash: str,
    token_hash: str | None,
    token: str | None,
    client_ip: str | None,
) -> Caller:
    if read is None:
        raise AuthenticationFailed("api key invalid", code=ErrorCode.API_KEY_INVALID)
    auth.check_key_access(read.key, read.owner, client_ip)
    if read.key.purpose != "client":
        raise AuthenticationFailed("not a client application key", code=ErrorCode.API_KEY_INVALID)
    return Caller(read.key, read.owner, client_ip, key_hash, token_hash, read, token or None)


def session_principal(
    uow: SessionsUnitOfWork, caller: Caller, *, auth_token: str | None
) -> tuple[Principal, KeySession]:
    """The user behind `auth_token`, only under the key's customer, with its wallet figures.

    The subtree check comes before the user's own access checks so that a token of another
    tenant answers "invalid token", never "disabled" or "IP not allowed".
    """
    if not auth_token:
        raise AuthenticationFailed("auth token missing", code=ErrorCode.TOKEN_INVALID)
    read: KeySession | None = caller.read
    if auth_token != caller.token:  # another token than the one read with the key
        token_hash = credentials.secret_hash(auth_token)
        if token_hash != caller.token_hash:
            read = uow.hot.key_session(caller.key_hash, token_hash)
    user = read.user if read else None
    if read is None or user is None or not tree.can_access(caller.owner.path, user.path):
        raise AuthenticationFailed("auth token invalid", code=ErrorCode.TOKEN_INVALID)
    auth.check_account_access(user, caller.ip)
    return user, read


def session(uow: SessionsUnitOfWork, caller: Caller, *, auth_token: str | None) -> Account:
    """The whole account behind `auth_token`, for the calls that need more than its wallet."""
    user, _read = session_principal(uow, caller, auth_token=auth_token)
    with uow.read() as tx:
        account = tx.accounts.get(user.id)
    if account is None:  # pragma: no cover - accounts are never removed
        raise AuthenticationFailed("auth token invalid", code=ErrorCode.TOKEN_INVALID)
    return account


# -- login and the logged-in user's balance ----------------------------------------------


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
    if key is not None and len(key) > user_settings.KEY_MAX:
        raise InvalidField("key longer than 64 characters", field="key")
    hashed_key = credentials.secret_hash(key) if key else None

    def device_key_and_token(tx: Tx, user: Account) -> str:
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
            # Another tenant's user with this msisdn is nobody here: guesses at it are
            # counted as this tenant's guesses at an unknown number, never against that user.
            door=f"msisdn:{caller.owner.id}",
            name=number.digits,
            find=lambda tx: user_by_msisdn(tx, caller.owner, number.digits),
            password=password,
            client_ip=caller.ip,
            then=device_key_and_token,
        )
    except (NotFound, Blocked):
        if uow.settings.login_uniform_errors:
            # Unknown and blocked answer as a wrong password: nothing tells them apart.
            raise AuthenticationFailed("credentials wrong") from None
        raise


def balance(uow: SessionsUnitOfWork, caller: Caller, *, auth_token: str | None) -> tuple[int, int]:
    """(free SMS, credits) of the token's user, from the same read that checked the token."""
    _user, read = session_principal(uow, caller, auth_token=auth_token)
    return read.free_sms, read.credits
