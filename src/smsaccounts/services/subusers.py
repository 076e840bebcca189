"""Sub-user management: list, read, create, edit and deactivate the users below a user.

Every call acts inside the actor's subtree (`accounts.visible`); changing anything needs
the actor's `acl_admin`, and no actor can switch on an ACL it does not hold itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Generic, NamedTuple, TypeAlias, TypeVar

from email_validator import EmailNotValidError, validate_email

from smsaccounts.domain import bounds, funding, subusers, tree
from smsaccounts.domain.models import Account, Signer, Standing, Wallet
from smsaccounts.domain.subusers import ListedAccount, ListedWallet
from smsaccounts.domain.tree import Kind
from smsaccounts.errors import (
    AccessDenied,
    ErrorCode,
    InvalidField,
    MissingField,
    NotFound,
)
from smsaccounts.services import accounts, apikeys, auth
from smsaccounts.services.funding import paying_wallet
from smsaccounts.services.funding import wallets as paying_wallets
from smsaccounts.services.ports import (
    CredentialLookups,
    Lookups,
    PageLookups,
    ThrottleLookups,
    Tx,
    UnitOfWork,
)

T = TypeVar("T")
A = TypeVar("A", Account, ListedAccount)


# How far ahead of a page its `total` counts (docs/link.md: bounded, not maintained).
LOOKAHEAD_PAGES = 10


class UserRecord(NamedTuple, Generic[A]):
    """A user as the views show it. A tuple: a page makes 100, and a frozen dataclass sets
    each field through `object.__setattr__` (a third of `_with_payers`' time)."""

    account: A  # a page reads the columns a listing shows (`ListedAccount`); the rest all
    wallet: Wallet | ListedWallet  # its own: messages sent, the limit (a page: the figures)
    paying: Wallet | ListedWallet | None = None  # the wallet it spends from; None: its own

    @property
    def spends(self) -> funding.Spendable:
        return funding.spendable(self.wallet, self.paying or self.wallet)


AnyRecord: TypeAlias = UserRecord[Account] | UserRecord[ListedAccount]


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    """One page of a subtree listing; `next_after` is the id the next page starts after."""

    users: list[AnyRecord]
    number: int
    size: int
    total: int
    next_after: int | None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


@dataclasses.dataclass(frozen=True, slots=True)
class _Prepared:
    values: dict[str, Any]
    password: str | None
    has_limit: bool
    max_messages: int | None


def list_page(
    uow: UnitOfWork,
    *,
    actor: Account,
    number: int,
    size: int,
    cursor: tuple[int, int] | None = None,
    lookahead_pages: int = LOOKAHEAD_PAGES,
) -> Page:
    """Page `number` of the actor's subtree in path order, walked by keyset (never OFFSET).

    `cursor` = (page, account id) says page `page` starts right after that account, so a
    client following `next` costs one range scan per page; a bare page number is walked to
    from the cursor (or from the start) a page at a time.

    `total` is exact while at most `lookahead_pages` pages follow this page's start; in a
    larger subtree it is a lower bound (this page's start plus `lookahead_pages` pages and
    one account), so `pages` reads `number + lookahead_pages` until the end comes near.
    """
    with uow.lookups() as tx:
        at, after = 1, None
        if cursor is not None and cursor[0] <= number:
            at, after = cursor[0], _cursor_path(tx, actor, cursor[1])
        while at < number:
            batch = tx.accounts.subtree_paths(actor, after_path=after, limit=size)
            if len(batch) < size:
                return Page([], number, size, (at - 1) * size + len(batch), None)
            after, at = batch[-1], at + 1
        # The pages before this one are full (keyset pages are); what follows is counted
        # only `lookahead_pages` ahead, so a page costs the same under a million accounts.
        rows, ahead = tx.accounts.listed_page(
            actor, after_path=after, limit=size + 1, at_most=lookahead_pages * size + 1
        )
        more = len(rows) > size
        users = _with_payers(tx, rows[:size])
        next_after = rows[size - 1][0].id if more else None
        return Page(users, number, size, (number - 1) * size + ahead, next_after)


def get(uow: UnitOfWork, *, actor: Account, account_id: int) -> UserRecord[Account]:
    require_admin(actor)
    with uow.read() as tx:
        return _record(tx, accounts.visible(actor, tx.accounts.get(account_id)))


def create(
    uow: UnitOfWork, *, actor: Account, changes: Mapping[str, Any]
) -> tuple[UserRecord[Account], str]:
    """A sub-user directly below the actor, with its own API key (returned once)."""
    require_admin(actor)
    prepared = _prepare(changes)
    _check_grants(actor, prepared.values)
    name = prepared.values.pop("name", "")
    if not name:
        raise MissingField("username is required", field="name")
    # Hash before the write transaction: argon2 is slow and SQLite holds its lock throughout.
    password_hash = (
        auth.hash_new_password(uow, prepared.password) if prepared.password is not None else None
    )
    with uow.write() as tx:
        _check_texts(tx, {"name": name, **prepared.values})
        terms = tx.wallets.get(actor.id)
        assert terms is not None  # every account is created with its wallet
        account = accounts.add(
            tx,
            kind=Kind.USER,
            name=name,
            parent=actor,
            password_hash=password_hash,
            billing_type=terms.billing_type,
            currency=terms.currency,
            door=funding.Door.LINK,
            **prepared.values,
        )
        if prepared.has_limit:
            tx.wallets.set_terms(account.id, max_messages=prepared.max_messages)
        _key, plaintext = auth.add_api_key(
            tx, owner_id=account.id, name=name, purpose=apikeys.USER_KEY
        )
        return _record(tx, account), plaintext


def update(
    uow: UnitOfWork,
    *,
    actor: Account,
    account_id: int,
    changes: Mapping[str, Any],
    check: Callable[[UserRecord[Account]], None] | None = None,
) -> UserRecord[Account]:
    """Edit a user in the actor's subtree; a new password or `enabled` false revoke tokens.

    `check` sees the user as it is before the edit, in the edit's transaction, and may
    refuse it: a dialect comparing what a client sent back with what it was shown.
    """
    require_admin(actor)
    prepared = _prepare(changes)
    with uow.write() as tx:
        _check_texts(tx, prepared.values)
        target = accounts.visible(actor, tx.accounts.get(account_id))
        if check is not None:
            check(_record(tx, target))
        _check_grants(actor, prepared.values, target)
        accounts.check_funding_change(actor, target, prepared.values)
        account = accounts.apply_changes(tx, target, prepared.values)
        if prepared.password is not None:
            auth.set_password(uow, tx, account, prepared.password)
        if prepared.has_limit:
            tx.wallets.set_terms(account.id, max_messages=prepared.max_messages)
        return _record(tx, account)


def deactivate(uow: UnitOfWork, *, actor: Account, account_id: int) -> UserRecord[Account]:
    """Delete = deactivate: data kept, tokens and keys revoked."""
    require_admin(actor)
    with uow.write() as tx:
        target = accounts.visible(actor, tx.accounts.get(account_id))
        return _record(tx, accounts.deactivate(tx, target))


def rotate_key(
    uow: UnitOfWork, *, actor: Account, account_id: int
) -> tuple[UserRecord[Account], str]:
    """A new own API key for a user: the actor's own, or (aclAdmin) a user's below it.

    Every live own key of that user is revoked in the same transaction; the new secret is
    returned once. A deleted user gets none (NotFound, like one outside the subtree).
    """
    if account_id != actor.id:
        require_admin(actor)
    with uow.write() as tx:
        target = accounts.visible(actor, tx.accounts.get(account_id))
        if target.deactivated is not None:
            raise NotFound("no such user")
        plaintext = apikeys.replace_own_key(tx, target)
        return _record(tx, target), plaintext


def require_admin(actor: Account) -> None:
    if not actor.acl_admin:
        raise AccessDenied("managing users needs acl_admin", code=ErrorCode.ADMIN_REQUIRED)


def _record(tx: Tx, account: Account) -> UserRecord[Account]:
    own, paying = paying_wallets(tx, account)
    return UserRecord(account, own, paying)


def _with_payers(
    tx: PageLookups, rows: list[tuple[ListedAccount, ListedWallet]]
) -> list[AnyRecord]:
    """Each listed account with the wallet it spends from (`services.funding`).

    A LINK sub-user spends from its parent's wallet by default: the chains of a page's
    accounts are read in one query and each paying wallet once, instead of three reads a
    row (a page of such users cost 65 ms of CPU against 1.3 ms paying for themselves).
    """
    chains = tx.accounts.chains([a for a, _ in rows if a.funding != funding.Funding.OWN])
    if not chains:  # every one paying for itself: no reads to set up
        return [UserRecord(account, wallet, wallet) for account, wallet in rows]
    page = _PageReads(_PageAccounts(tx, chains), _PageWallets(tx), tx.throttles, tx.credentials)
    records: list[AnyRecord] = []
    for account, wallet in rows:
        chain = chains.get(account.id)
        if not chain:  # paying for itself
            records.append(UserRecord(account, wallet, wallet))
            continue
        records.append(UserRecord(account, wallet, paying_wallet(page, chain[0], wallet)))
    return records


class _PageAccounts:
    """A page's `AccountLookups`: the chains it read at once, the rest from its lookups."""

    def __init__(self, tx: Lookups, chains: dict[int, list[Account]]) -> None:
        self._tx, self._chains = tx, chains

    def get(self, account_id: int) -> Account | None:
        return self._tx.accounts.get(account_id)

    def get_by_name(self, kind: Kind, name: str) -> Account | None:
        return self._tx.accounts.get_by_name(kind, name)

    def get_by_object_id(self, object_id: str) -> Account | None:
        return self._tx.accounts.get_by_object_id(object_id)

    def chain(self, account: Account) -> list[Account]:
        found = self._chains.get(account.id)
        return found if found is not None else self._tx.accounts.chain(account)

    def standings(self, account: Account) -> list[Standing]:
        return self._tx.accounts.standings(account)

    def signers(self, kind: Kind, name: str) -> list[Signer]:
        return self._tx.accounts.signers(kind, name)

    def named_signers(self, name: str) -> list[Signer]:
        return self._tx.accounts.named_signers(name)


class _PageWallets:
    """A page's `WalletLookups`: each paying wallet read once (its rows carry only the
    figures a listing shows of their own)."""

    def __init__(self, tx: Lookups) -> None:
        self._tx = tx
        self._seen: dict[int, Wallet | None] = {}

    def get(self, account_id: int) -> Wallet | None:
        if account_id not in self._seen:
            self._seen[account_id] = self._tx.wallets.get(account_id)
        return self._seen[account_id]


@dataclasses.dataclass(frozen=True, slots=True)
class _PageReads:
    """The `Lookups` `services.funding` reads a page's payers through (one snapshot)."""

    accounts: _PageAccounts
    wallets: _PageWallets
    throttles: ThrottleLookups
    credentials: CredentialLookups


def _cursor_path(tx: PageLookups, actor: Account, account_id: int) -> str:
    account = tx.accounts.get(account_id) if bounds.is_id(account_id) else None
    if account is None or not tree.can_access(actor.path, account.path):
        raise InvalidField("the paging cursor is not valid", field="after")
    return account.path


def _prepare(changes: Mapping[str, Any]) -> _Prepared:
    """Validate what LINK lets a client set; wallet and password parts are split off."""
    values = dict(changes)
    password = values.pop("password", None)
    has_limit = "max_messages" in values
    limit = _checked("max_messages", subusers.parse_max_messages, values.pop("max_messages", None))
    if "prefixes" in values:
        values["prefixes"] = _checked("prefixes", subusers.normalize_prefixes, values["prefixes"])
    return _Prepared(values, password, has_limit, limit)


def _check_grants(
    actor: Account, values: Mapping[str, Any], current: Account | None = None
) -> None:
    acl = subusers.ungrantable(actor, values, current)
    if acl is not None:
        raise AccessDenied(
            f"cannot grant {acl}, which the caller lacks", code=ErrorCode.ACL_NOT_HELD, acl=acl
        )


def _checked(field: str, rule: Callable[[Any], T], value: Any) -> T:
    """Apply a domain rule, turning its ValueError into InvalidField naming `field`."""
    try:
        return rule(value)
    except bounds.OutOfRange as error:
        raise InvalidField(str(error), field=field, code=ErrorCode.VALUE_OUT_OF_RANGE) from None
    except ValueError as error:
        raise InvalidField(str(error), field=field) from None


def _check_texts(tx: Tx, values: Mapping[str, Any]) -> None:
    accounts.check_texts(tx, values)
    if values.get("reg_email"):
        try:
            validate_email(values["reg_email"], check_deliverability=False)
        except EmailNotValidError as error:
            raise InvalidField(str(error), field="reg_email") from None
