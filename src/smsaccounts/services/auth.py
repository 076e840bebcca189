"""Authentication: passwords (with lockout), API keys, auth tokens; issuing and revoking them.

Whatever the door, the same rules decide: one login lockout per account
(`throttle.key("login", "account", id)`), counted under a row lock; an account acts only
while it and every ancestor are enabled and live, from inside its own `iprange`
(`check_account_access`); a key works while live, from inside its own ranges
(`check_key_access`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from smsaccounts import logs, metrics
from smsaccounts.config import Settings
from smsaccounts.domain import credentials, password_policy, throttle
from smsaccounts.domain.models import Account, ApiKey, Principal, Signer, acting, acting_under
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
from smsaccounts.services.ports import Lookups, Tx, UnitOfWork, UnitOfWorkOf

T = TypeVar("T")
TxT = TypeVar("TxT", bound=Tx)  # the caller's own kind of transaction, for its callbacks


def login_rule(settings: Settings) -> throttle.Rule:
    return throttle.Rule(
        max_failures=settings.login_max_failures,
        window=dt.timedelta(seconds=settings.login_window_seconds),
        block=dt.timedelta(seconds=settings.login_block_seconds),
    )


def login_key(account: Account | Signer) -> str:
    """The one login lockout of an account, whichever door names it."""
    return throttle.key("login", "account", account.id)


def authenticate_password(
    uow: UnitOfWorkOf[TxT],
    *,
    door: str,
    name: str,
    find: Callable[[TxT], Account | None],
    password: str,
    client_ip: str | None,
) -> Account:
    """Check a password against the account `find` returns, under the login lockout.

    A password verified against the same stored hash within
    `SMSACCOUNTS_CREDENTIAL_CACHE_SECONDS` skips the argon2 verify (`VerifiedCredentials`);
    everything else (the lockout, `_admit`) runs as on a first call.
    """
    return password_login(uow, door=door, name=name, find=find, password=password,
                          client_ip=client_ip, then=_itself, cached=True)  # fmt: skip


def _itself(_tx: Tx, account: Account) -> Account:
    return account


def password_login(
    uow: UnitOfWorkOf[TxT],
    *,
    door: str,
    name: str,
    find: Callable[[TxT], Account | None],
    password: str,
    client_ip: str | None,
    then: Callable[[TxT, Account], T],
    cached: bool = False,
) -> T:
    """Check a password under the account's login lockout; on success run `then` in the
    same write, once the account may act (`check_account_access`) from `client_ip`.

    The lockout is the account's whichever door (mysms, LINK, reseller, MOR) names it;
    `door` and `name` key a count only for a name that no account has, so guessing names
    is throttled too. The count is read and written under the row's lock: concurrent
    guesses queue, and exactly `login_max_failures` of them are ever evaluated.
    The argon2 verify runs in every branch (blocked, unknown, wrong) so that the time taken
    tells nothing. What a successful login leads to (a token, a stored device key) commits
    with the lockout state, and only if the hash the password was checked against is still
    the account's (see `_admit`). With `cached`, a password this process verified against
    the same stored hash within the cache's TTL counts as correct without the verify; only
    an admitted login is remembered; a remembered one whose lockout has no failure on
    record is answered from a read transaction (the locked path would write nothing), so
    `cached` is only for a `then` that writes nothing (`authenticate_password`'s).
    Raises Blocked, NotFound (ACCOUNT_UNKNOWN), AuthenticationFailed, AccountDisabled or
    AccessDenied (IP_NOT_ALLOWED).
    """
    rule = login_rule(uow.settings)
    verified = uow.passwords.verified
    now = uow.clock.now()
    with uow.read() as tx:
        account = find(tx)
        hit = cached and _remembers(uow, account, password)
        if hit and account is not None:
            admitted = _admit_remembered(tx, account, client_ip)
            if admitted is not None:
                return then(tx, admitted)
    stored = account.password_hash if account else None
    correct = hit or uow.passwords.verify(stored, password)
    key = login_key(account) if account else throttle.key("login", door, name)
    with uow.write() as tx:
        state = tx.throttles.lock(key)
        blocked = throttle.is_blocked(state, tx.now)
        if blocked or account is None or not correct:
            # While blocked the (unchanged) state is written too: a locked, an unknown and a
            # wrong login run the same statements, so their timing tells nothing apart.
            after = throttle.record_failure(rule, state, tx.now)
            tx.throttles.put(key, after)
            if not blocked and throttle.is_blocked(after, tx.now):
                # By the kind of name only: `msisdn:<owner>` would be a label per tenant.
                tx.after_commit(metrics.LOCKOUTS.labels(door.partition(":")[0]).inc)
        else:
            if state != throttle.State():
                tx.throttles.put(key, throttle.record_success(state, tx.now))
            current = _admit(tx, account, stored, client_ip)
            if cached and not hit and stored:
                verified.remember(account.id, stored, password, now)  # verified and admitted
            if stored and uow.passwords.needs_rehash(stored):
                tx.accounts.update(current.id, {"password_hash": uow.passwords.hash(password)})
            return then(tx, current)
    if blocked:
        raise Blocked("login blocked", until=state.blocked_until)
    if account is None:
        raise NotFound("account not found", code=ErrorCode.ACCOUNT_UNKNOWN)
    raise AuthenticationFailed("wrong password")


def remembered_login(
    uow: UnitOfWork, tx: Lookups, *, chain: list[Signer], password: str, client_ip: str | None
) -> Signer | None:
    """`chain[0]` (an account, then its ancestors: `signers`) as `authenticate_password`
    would admit it, read from `tx` alone (no argon2, no write), when this process verified
    `password` against its current hash within `SMSACCOUNTS_CREDENTIAL_CACHE_SECONDS` and
    its lockout has no failure on record.

    None: `authenticate_password` must decide, as it does for every wrong or unknown
    password (which never hits: only an admitted login is remembered). Raises what the
    admission raises (AccountDisabled, AccessDenied).
    """
    account = chain[0] if chain else None
    if account is None or not _remembers(uow, account, password):
        return None
    if _failed_before(tx, account):
        return None
    check_chain_access(chain, client_ip)
    return account


def _remembers(uow: UnitOfWorkOf[Any], account: Account | Signer | None, password: str) -> bool:
    if account is None:
        return False
    now = uow.clock.now()
    return uow.passwords.verified.holds(account.id, account.password_hash, password, now)


def _failed_before(tx: Lookups, account: Account | Signer) -> bool:
    """A failure on record: the locked path must decide (and write). Without one it would
    write nothing, and the same answer comes from this snapshot."""
    return tx.throttles.get(login_key(account)) != throttle.State()


def _admit_remembered(tx: Lookups, account: Account, client_ip: str | None) -> Account | None:
    """The account as the locked path would admit it, without the lock row's durable write
    (None: there is a failure on record)."""
    if _failed_before(tx, account):
        return None
    # A cached check issues nothing, so it reads the ancestors unlocked (see `_admit`), and
    # of them only what the access rule reads (`standings`). The account itself is the one
    # this read found, whose hash the password was just checked against.
    check_account_access(acting_under(account, tx.accounts.standings(account)), client_ip)
    return account


def hash_new_password(uow: UnitOfWorkOf[TxT], password: str | None) -> str:
    """The hash of a new password that passes the installation's one password policy."""
    settings = uow.settings
    checked = password_policy.check(
        password,
        min_length=settings.password_min_length,
        max_length=settings.password_max_length,
    )
    return uow.passwords.hash(checked)


def _admit(tx: Tx, account: Account, checked_hash: str | None, client_ip: str | None) -> Account:
    """The account as it is now, if the login may go on: the hash the password was checked
    against is still its hash, and it (and every ancestor) may act from `client_ip`.

    The account and its ancestors stay share-locked until this write commits, so a password
    change, reset, disable or delete either came first (and this login is refused) or waits
    for it (and then revokes whatever token it issued): no token outlives one of them. A
    cached check issues nothing and reads them unlocked, in one snapshot.
    """
    return _admitted(tx.accounts.chain(account, lock=True), checked_hash, client_ip)


def _admitted(chain: list[Account], checked_hash: str | None, client_ip: str | None) -> Account:
    if not chain or chain[0].password_hash != checked_hash:
        # Changed since it was verified: the password checked may no longer be its own.
        raise AuthenticationFailed("wrong password")
    check_account_access(acting(chain), client_ip)
    return chain[0]


def set_password(uow: UnitOfWork, tx: Tx, account: Account, password: str) -> None:
    """Store a new password (under the password policy) and revoke every auth token of the
    account.

    The hash is written first: that takes the account's row lock, which a login issuing a
    token holds too (`_admit`), so the revocation sees every token issued before it.
    """
    replace_password(tx, account.id, hash_new_password(uow, password))


def replace_password(tx: Tx, account_id: int, password_hash: str) -> None:
    """Store a password's hash and revoke every auth token of the account, with one audit
    row that says how many tokens the change revoked (never the password)."""
    tx.accounts.update(account_id, {"password_hash": password_hash})
    revoked = tx.credentials.revoke_tokens(account_id, tx.now)
    audit.record(
        tx, "password.set", account_id, after={"password": True, "tokens_revoked": revoked}
    )


def issue_token(tx: Tx, account: Account) -> str:
    token = credentials.new_token()
    tx.credentials.add_token(account.id, credentials.secret_hash(token), tx.now)
    return token


def change_password(uow: UnitOfWork, *, account_id: int, password: str | None) -> None:
    """An operator's new password for any account (the admin too); its tokens stop working."""
    password_hash = hash_new_password(uow, password)  # slow: outside the write lock
    with uow.write() as tx:
        replace_password(tx, account_id, password_hash)


def revoke_tokens(uow: UnitOfWork, *, account_id: int) -> int:
    with uow.write() as tx:
        revoked = tx.credentials.revoke_tokens(account_id, tx.now)
        audit.record(tx, "tokens.revoke", account_id, after={"tokens_revoked": revoked})
        return revoked


def authenticate_token(uow: UnitOfWork, *, token: str, client_ip: str | None) -> Account:
    """The live account behind an auth token, if it (and every ancestor) may act from there."""
    with uow.read() as tx:
        account = tx.credentials.account_for_token(credentials.secret_hash(token))
        chain = tx.accounts.chain(account) if account else []
    if account is None or not chain:
        raise AuthenticationFailed("auth token invalid", code=ErrorCode.TOKEN_INVALID)
    check_account_access(acting(chain), client_ip)
    return chain[0]


def authenticate_api_key(
    uow: UnitOfWork, *, key: str, client_ip: str | None
) -> tuple[ApiKey, Account]:
    """The live API key and its owner; the client IP must be inside both's allowed ranges,
    and the owner and every one of its ancestors enabled and live."""
    with uow.lookups() as tx:
        found = tx.credentials.key_with_owner(credentials.secret_hash(key))
        above = tx.accounts.standings(found[1]) if found else []
    if found is None:
        raise AuthenticationFailed("api key invalid", code=ErrorCode.API_KEY_INVALID)
    api_key, owner = found
    check_key_access(api_key, acting_under(owner, above), client_ip)
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
    return authenticate_password(
        uow,
        door="user",
        name=username,
        find=lambda tx: tx.accounts.get_by_name(Kind.USER, username),
        password=password,
        client_ip=client_ip,
    )


def check_key_access(api_key: ApiKey, owner: Principal, client_ip: str | None) -> None:
    """A key works until revoked, while enabled, from inside its own ranges, for an owner
    that may act. A revoked key is no key at all: it answers like an unknown one."""
    if api_key.revoked_at is not None:
        raise AuthenticationFailed("api key revoked", code=ErrorCode.API_KEY_INVALID)
    if not api_key.enabled:
        raise AccessDenied("api key disabled", code=ErrorCode.KEY_DISABLED)
    if not ip_allowed(api_key.allowed_ips, client_ip):
        raise AccessDenied("client IP not allowed for this key", code=ErrorCode.IP_NOT_ALLOWED)
    check_account_access(owner, client_ip)


def check_account_access(account: Principal, client_ip: str | None) -> None:
    """The one access rule of every door: an account acts only while it and every ancestor
    are enabled and live (`Principal.active`), and only from inside its own `iprange`
    (`client_ip` is the peer's address, or a trusted proxy's report of it)."""
    if not account.active:
        raise AccountDisabled("account disabled", account_id=account.id)
    if not ip_allowed(account.iprange, client_ip):
        raise AccessDenied("client IP not allowed for this account", code=ErrorCode.IP_NOT_ALLOWED)
    logs.note_caller(account.id)
    audit.note_actor(account.id)


def check_chain_access(chain: Sequence[Account | Signer], client_ip: str | None) -> None:
    """`check_account_access` for `chain[0]`, given it and its ancestors (`chain`)."""
    check_account_access(acting(chain), client_ip)


def require_right(
    api_key: ApiKey, right: str, *, code: ErrorCode = ErrorCode.RIGHT_MISSING
) -> None:
    if right not in api_key.rights:
        raise AccessDenied(f"api key lacks the right {right}", code=code)


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
