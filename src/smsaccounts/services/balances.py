"""Balances read and changed by a hash-signed request (MOR's): hash (and optional password)
authentication, a caller's view of an account and its wallet, and a balance change as one
ledger entry.

Checks run in a fixed order, so an answer tells a caller no more than it has earned:
the hash first, then the password, then the caller's own state, then the target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from smsaccounts.domain import bounds, money, request_hash, tree
from smsaccounts.domain.models import Account, Asset, LedgerEntry, Signer, Wallet
from smsaccounts.errors import (
    AccessDenied,
    AccountDisabled,
    AuthenticationFailed,
    Blocked,
    ErrorCode,
    InvalidField,
    NotFound,
)
from smsaccounts.services import auth, funding, wallet
from smsaccounts.services.accounts import visible
from smsaccounts.services.ports import Lookups, UnitOfWork

BALANCE_REASON = "mor_balance_update"
# The ledger column's width: a longer key could not be stored, so it is refused up front.
MAX_IDEMPOTENCY_KEY = 128


@dataclasses.dataclass(frozen=True, slots=True)
class Credentials:
    """What a MOR request authenticates with: `u`, optional `p`, `hash`, and where from."""

    username: str | None
    password: str | None
    hash: str | None
    client_ip: str | None


def find_by_name(tx: Lookups, name: str) -> Account | None:
    """The first live account with this name, kind by kind in `tree.NAME_ORDER`."""
    for kind in tree.NAME_ORDER:
        account = tx.accounts.get_by_name(kind, name)
        if account is not None:
            return account
    return None


def signers_by_name(tx: Lookups, name: str) -> list[Signer]:
    """`find_by_name`'s account, then its ancestors, as `Signer`s ([]: none): what
    authenticating a hash-signed caller reads, without each whole account."""
    return tx.accounts.named_signers(name)


def authenticate(
    uow: UnitOfWork, credentials: Credentials, values: Sequence[str | None]
) -> Account | Signer:
    """The calling account, once its hash over `values` (and its password, if sent) match.

    Raises AuthenticationFailed (HASH_INVALID or CREDENTIALS_WRONG), then AccountDisabled or
    AccessDenied for a caller that may not act (disabled, or outside its IP ranges).
    """
    with uow.lookups() as tx:
        caller, chain = _signed_caller(tx, credentials, values)
    return _admitted(uow, credentials, caller, chain)


def _signed_caller(
    tx: Lookups, credentials: Credentials, values: Sequence[str | None]
) -> tuple[Signer, list[Signer]]:
    """The account named `u` and its chain, if the hash over `values` is its (nearest) secret's."""
    name = credentials.username
    chain = signers_by_name(tx, name) if name else []
    caller = chain[0] if chain else None
    if caller is None or not request_hash.hash_matches(
        values, request_hash.nearest_secret(chain), credentials.hash
    ):
        raise AuthenticationFailed("incorrect hash", code=ErrorCode.HASH_INVALID)
    return caller, chain


def _admitted(
    uow: UnitOfWork, credentials: Credentials, caller: Signer, chain: list[Signer]
) -> Account | Signer:
    """The signed caller, once its password (if sent) is right and it may act from here."""
    admitted: Account | Signer = caller
    if credentials.password is not None:
        admitted = _check_password(uow, caller.name, credentials.password, credentials.client_ip)
    # The caller and every account above it: a disabled reseller's customers and users are
    # shut out too, whoever's name the request gives as `u`.
    auth.check_chain_access(chain, credentials.client_ip)
    return admitted


def _check_password(uow: UnitOfWork, name: str, password: str, client_ip: str | None) -> Account:
    """Every way a password can fail (wrong, unknown, blocked, disabled) looks the same."""
    try:
        return auth.authenticate_password(
            uow,
            door="mor",
            name=name,
            find=lambda tx: find_by_name(tx, name),
            password=password,
            client_ip=client_ip,
        )
    except (AuthenticationFailed, NotFound, Blocked, AccountDisabled):
        raise AuthenticationFailed("bad login") from None


def user_details(
    uow: UnitOfWork, credentials: Credentials, *, user_id: str | None, username: str | None
) -> tuple[Account, Wallet]:
    """The account (by id and/or name) and the wallet it spends from, if the caller may see
    it."""
    values = (user_id, username)
    with uow.lookups() as tx:
        signed, chain = _signed_caller(tx, credentials, values)
        if credentials.password is None:  # no password: one transaction for every read
            caller = _admitted(uow, credentials, signed, chain)
            return _details(tx, caller, user_id=user_id, username=username)
    caller = _admitted(uow, credentials, signed, chain)  # argon2 and a write: not inside
    with uow.lookups() as tx:
        return _details(tx, caller, user_id=user_id, username=username)


def _details(
    tx: Lookups, caller: Account | Signer, *, user_id: str | None, username: str | None
) -> tuple[Account, Wallet]:
    account = _target(tx, caller, user_id=user_id, username=username)
    # The wallet it spends from: its own, or its paying ancestor's (`domain.funding`).
    _own, paying = funding.wallets(tx, account)
    return account, paying


def update_balance(
    uow: UnitOfWork,
    credentials: Credentials,
    *,
    user_id: str | None,
    balance: str | None,
    idempotency_key: str | None = None,
) -> tuple[Account, LedgerEntry]:
    """Add the signed decimal `balance` to the account's money as one ledger entry; answers
    the account and the entry (its `resulting` is the new balance).

    Only the admin or a reseller, and only below itself; lookup and change share one
    transaction, so the target cannot be deleted between the check and the entry (in one
    statement, `_update_at_once`, the statement checks that the account is live). With an
    `idempotency_key` the change applies once: a client that lost the answer resends it and
    gets the first entry back (the same key with another amount is InvalidField).
    """
    # In one statement where it can (`_update_at_once`): the target is then read with the
    # caller's chain, and the caller authenticated as `authenticate` does.
    at_once = idempotency_key is None and credentials.password is None and uow.writes_at_once
    account_id = bounds.parse_id(user_id) if at_once and user_id is not None else None
    seen: tuple[Account, Wallet] | None = None
    with uow.lookups() as tx:
        if account_id is not None:
            tx.accounts.expect(account_id)
        signed, chain = _signed_caller(tx, credentials, (user_id, balance))
        if account_id is not None:
            seen = _seen(tx, signed, user_id)
    caller = _admitted(uow, credentials, signed, chain)
    _check_key(idempotency_key)
    if caller.kind not in tree.BALANCE_KINDS:
        raise AccessDenied("only the admin or a reseller may change balances")
    if seen is not None:
        done = _update_at_once(uow, caller, seen, balance=balance)
        if done is not None:
            return done
    with uow.write() as tx:
        # Only the hashed `user_id` may name the target: an unhashed `username` could be
        # swapped by whoever replays the request.
        target = _target(tx, caller, user_id=user_id, username=None)
        if not tree.may_change_balance(caller, target):
            raise AccessDenied("a balance may only be changed below the caller")
        units = _units(balance)
        entry = wallet.apply(
            tx,
            account_id=target.id,
            asset=Asset.BALANCE,
            amount=units,
            reason=BALANCE_REASON,
            actor_id=caller.id,
            idempotency_key=idempotency_key,
            account=target,
        )
        return target, entry


def _seen(tx: Lookups, caller: Signer, user_id: str | None) -> tuple[Account, Wallet] | None:
    """The target `user_id` names, as `_target` finds it, and its own wallet; None where
    there is none to see."""
    try:
        target = _target(tx, caller, user_id=user_id, username=None)
    except NotFound:
        return None
    known = tx.wallets.get(target.id)
    return None if known is None else (target, known)


def _update_at_once(
    uow: UnitOfWork,
    caller: Account | Signer,
    seen: tuple[Account, Wallet],
    *,
    balance: str | None,
) -> tuple[Account, LedgerEntry] | None:
    """`update_balance`'s change as one statement (`wallet.apply_at_once`) to the target and
    wallet `seen` with the caller's chain: two round trips to a database server, where the
    transaction makes six. None, with nothing written, whenever the transaction might
    answer otherwise (a refusal, a race, an alert): the caller then runs it."""
    target, known = seen
    try:
        units = _units(balance)
    except InvalidField:
        return None
    if not tree.may_change_balance(caller, target):
        return None
    entry = wallet.apply_at_once(uow, target, known, asset=Asset.BALANCE, amount=units,
                                 reason=BALANCE_REASON, actor_id=caller.id)  # fmt: skip
    return None if entry is None else (target, entry)


def _check_key(key: str | None) -> None:
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidField(
            f"an idempotency key has 1 to {MAX_IDEMPOTENCY_KEY} characters",
            field="idempotency_key",
        )


def _units(balance: str | None) -> int:
    try:
        units = money.to_units(money.parse_amount(balance if balance is not None else ""))
    except (money.MoneyError, ArithmeticError):
        raise InvalidField("balance must be a decimal amount", field="balance") from None
    if units == 0:
        raise InvalidField("a zero change is not a change", field="balance")
    return units


def _target(
    tx: Lookups, caller: Account | Signer, *, user_id: str | None, username: str | None
) -> Account:
    """The one live account every given identifier names, inside the caller's subtree."""
    if user_id is None and username is None:
        raise NotFound("no user_id or username")
    found: list[Account | None] = []
    if user_id is not None:
        account_id = bounds.parse_id(user_id)  # beyond the id column: no such account
        found.append(tx.accounts.get(account_id) if account_id is not None else None)
    if username is not None:
        found.append(find_by_name(tx, username))
    first = found[0]
    same = all(a is not None and first is not None and a.id == first.id for a in found)
    if first is None or first.deactivated is not None or not same:
        raise NotFound("account not found")
    return visible(caller, first)
