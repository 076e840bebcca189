"""What services need of storage: a unit of work handing out transactions of repositories.

Services type against these protocols only. The SQLAlchemy implementation lives in
`smsaccounts.storage.unit_of_work` (what the app, the CLI and the database tests wire in);
`tests/unit/fakes.py` holds an in-memory one. Every repository speaks in domain records and
domain outcomes: a unique-constraint race surfaces as AlreadyExists (`Accounts.add`) or
IdempotencyKeyTaken (`Wallets.record`), never as a driver's error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeAlias, TypeVar

from smsaccounts.config import Settings
from smsaccounts.domain.audit import AuditEntry, NewAuditEntry
from smsaccounts.domain.charging import Charge, Split
from smsaccounts.domain.clock import Clock
from smsaccounts.domain.console import ConsoleSession, SubtreeStats
from smsaccounts.domain.credentials import Passwords
from smsaccounts.domain.models import (
    Account,
    ApiKey,
    Asset,
    BillingType,
    KeySession,
    LedgerEntry,
    Pin,
    Signer,
    Standing,
    Wallet,
)
from smsaccounts.domain.outbox import OutboxMessage
from smsaccounts.domain.subusers import ListedAccount, ListedWallet
from smsaccounts.domain.throttle import State
from smsaccounts.domain.tree import Kind


class Accounts(Protocol):
    def add(
        self, *, kind: Kind, name: str, parent: Account | None, now: dt.datetime, **values: Any
    ) -> Account:
        """Insert an account; AlreadyExists when a live one of its kind has the name/msisdn."""

    def get(self, account_id: int) -> Account | None: ...
    def get_by_object_id(self, object_id: str) -> Account | None: ...
    def get_by_name(self, kind: Kind, name: str) -> Account | None: ...
    def get_by_msisdn(self, msisdn: str) -> Account | None: ...
    def ancestors(self, account: Account) -> list[Account]: ...
    def standings(self, account: Account) -> list[Standing]: ...
    def signers(self, kind: Kind, name: str) -> list[Signer]: ...
    def named_signers(self, name: str) -> list[Signer]:
        """`signers` of the first kind in `tree.NAME_ORDER` with a live account named
        `name` ([]: none)."""

    def chain(self, account: Account, *, lock: bool = False) -> list[Account]:
        """The account as stored now, then its ancestors, nearest first (one indexed read).

        With `lock` they stay as read until the transaction ends: a concurrent disable,
        delete or password change of any of them waits for it (a share lock).
        """

    def list_subtree(
        self,
        root: Account,
        *,
        after_path: str | None = None,
        limit: int = 100,
        include_root: bool = True,
    ) -> list[Account]: ...
    def search(
        self,
        root: Account,
        *,
        kind: Kind | None = None,
        text: str | None = None,
        after_path: str | None = None,
        limit: int = 100,
    ) -> list[Account]:
        """`list_subtree`, only accounts of `kind` whose name, e-mail or msisdn holds `text`
        (case-insensitively)."""

    def list_subtree_wallets(
        self, root: Account, *, after_path: str | None = None, limit: int = 100
    ) -> list[tuple[Account, Wallet]]: ...
    def listed_page(
        self, root: Account, *, after_path: str | None = None, limit: int = 100, at_most: int
    ) -> tuple[list[tuple[ListedAccount, ListedWallet]], int]:
        """`list_subtree_wallets` with only the columns a listing of sub-users shows, and
        `count_subtree(root, after_path=after_path, at_most=at_most)`."""

    def chains(self, listed: Sequence[Account | ListedAccount]) -> dict[int, list[Account]]:
        """`chain` of each of `listed`, by id, in one read."""

    def subtree_paths(
        self, root: Account, *, after_path: str | None = None, limit: int = 100
    ) -> list[str]:
        """The paths of `list_subtree(root, after_path=after_path, limit=limit)`."""

    def count_subtree(
        self, root: Account, *, after_path: str | None = None, at_most: int | None = None
    ) -> int:
        """The subtree's accounts (root included) after `after_path`, counted to `at_most`."""

    def text_limit(self, field: str) -> int | None:
        """The most characters a text attribute holds (None: unbounded)."""

    def children(self, parent: Account) -> list[Account]: ...
    def update(self, account_id: int, values: Mapping[str, Any]) -> None: ...
    def set_route(self, account_id: int, recipient: str, routing: int) -> None: ...
    def get_route(self, account_id: int, recipient: str) -> int | None: ...


class WalletChanges(Protocol):
    """What a one-statement write (`UnitOfWorkOf.at_once`) can do to a wallet."""

    def change_at_once(
        self,
        account_id: int,
        asset: Asset,
        amount: int,
        *,
        before: int,
        reason: str,
        actor_id: int | None,
        now: dt.datetime,
        audit: NewAuditEntry,
    ) -> LedgerEntry | None:
        """`apply` and `record` (no key) in one statement, only while the wallet holds
        `before` and its account is live; None, and nothing written, if not."""


class Wallets(WalletChanges, Protocol):
    def add(
        self,
        account_id: int,
        *,
        currency: str,
        billing_type: BillingType,
        credit_limit: int | None = None,
    ) -> None: ...
    def get(self, account_id: int) -> Wallet | None: ...
    def set_terms(self, account_id: int, **values: object) -> None: ...
    def apply(self, account_id: int, asset: Asset, amount: int) -> int | None:
        """Add `amount` unless `wallet_rules` forbids it (atomically); the new value or None."""

    def find_entry(self, account_id: int, asset: Asset, scope: str, key: str) -> LedgerEntry | None:
        """The entry under that key of that scope (`wallet_rules.idempotency_scope`)."""

    def record(
        self,
        *,
        account_id: int,
        asset: Asset,
        amount: int,
        resulting: int,
        reason: str,
        actor_id: int | None,
        idempotency_key: str | None,
        now: dt.datetime,
        audit: NewAuditEntry | None = None,
    ) -> LedgerEntry:
        """One ledger entry, and with it `audit` (the change's audit row, written as
        `Audit.add` writes it); IdempotencyKeyTaken, and neither written, when an entry
        exists under the same key (of the same scope: the actor and the reason)."""

    def count_messages(self, account_id: int, count: int) -> bool:
        """Add `count` messages sent unless that passes the wallet's `max_messages`."""

    def ledger_sum(self, account_id: int, asset: Asset) -> int: ...
    def entries(
        self, account_id: int, *, limit: int = 100, since: dt.datetime | None = None
    ) -> list[LedgerEntry]:
        """Newest first; with `since`, only entries created at or after it."""


class Credentials(Protocol):
    def add_token(self, account_id: int, token_hash: str, now: dt.datetime) -> None: ...
    def account_for_token(self, token_hash: str) -> Account | None: ...
    def revoke_tokens(self, account_id: int, now: dt.datetime) -> int: ...
    def revoke_subtree_tokens(self, path: str, now: dt.datetime) -> int:
        """Revoke the live tokens of the account at `path` and of everything below it."""

    def add_key(
        self,
        *,
        account_id: int,
        name: str,
        purpose: str,
        key_hash: str,
        rights: str,
        allowed_ips: str,
        now: dt.datetime,
    ) -> ApiKey: ...
    def key_with_owner(self, key_hash: str) -> tuple[ApiKey, Account] | None: ...
    def get_key(self, key_id: int) -> ApiKey | None: ...
    def list_keys(self, *, account_id: int | None = None) -> list[ApiKey]: ...
    def revoke_keys(self, account_id: int, now: dt.datetime) -> int: ...
    def set_key(self, key_id: int, **values: Any) -> None: ...
    def put_pin(
        self, msisdn: str, pin_hash: str, now: dt.datetime, expires_at: dt.datetime
    ) -> None: ...
    def get_pin(self, msisdn: str) -> Pin | None: ...
    def consume_pin(self, msisdn: str, now: dt.datetime) -> bool: ...


class Throttles(Protocol):
    def get(self, key: str) -> State:
        """The last committed state, unlocked: for reports, never to decide a write on."""

    def lock(self, key: str) -> State:
        """The state of `key`, held until the transaction ends: a concurrent request for the
        same key waits, then sees what this one `put`. The only read a decision may use."""

    def put(self, key: str, state: State) -> None:
        """Write the state of a key this transaction locked."""


class Outbox(Protocol):
    def add(
        self,
        *,
        to_msisdn: str,
        text: str,
        body: str,
        purpose: str,
        account_id: int | None,
        now: dt.datetime,
        expires_at: dt.datetime | None = None,
        channel: str = "sms",
        destination: str | None = None,
        sender: str | None = None,
    ) -> int:
        """Queue `body` to send; `text` is what is kept for reading (secrets masked)."""

    def messages(
        self, *, to_msisdn: str | None = None, limit: int = 1000
    ) -> list[OutboxMessage]: ...
    def due_ids(self, now: dt.datetime, limit: int) -> list[int]: ...
    def claim(
        self, message_id: int, now: dt.datetime, lease_until: dt.datetime, *, worker: str
    ) -> OutboxMessage | None:
        """Take a due message for `worker` until `lease_until`; None if another holds it."""

    def finish(self, message_id: int, *, worker: str, **values: Any) -> bool:
        """Settle a message `worker` still holds; False when its claim was lost."""

    def mark(self, message_id: int, **values: Any) -> None: ...
    def depth(self) -> int:
        """How many messages may still go out (queued or being sent)."""

    def expire(self, now: dt.datetime) -> int:
        """Pending messages past their `expires_at` become expired, their body dropped."""


class Audit(Protocol):
    def add(self, entry: NewAuditEntry) -> None: ...
    def entries(
        self,
        *,
        target_id: int | None = None,
        actor_id: int | None = None,
        since: dt.datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first."""


class Charges(Protocol):
    def get(self, caller_id: int, reference: str) -> Charge | None: ...
    def add(
        self,
        *,
        caller_id: int,
        reference: str,
        account_id: int,
        payer_id: int,
        message_class: str,
        recipients: int,
        parts: int,
        paid: Split,
        now: dt.datetime,
    ) -> Charge:
        """ChargeTaken when the caller already has a charge under `reference`."""

    def refund(self, charge_id: int, parts: int) -> bool:
        """Mark `parts` refunded unless it was refunded already (then False)."""


class Tx(Protocol):
    """One open transaction: every repository in it, and the one `now` it runs at."""

    @property
    def now(self) -> dt.datetime: ...
    @property
    def default_currency(self) -> str: ...  # of a wallet opened without one
    @property
    def email(self) -> bool: ...  # e-mail can be sent (SMSACCOUNTS_SMTP_URL is set)
    @property
    def accounts(self) -> Accounts: ...
    @property
    def wallets(self) -> Wallets: ...
    @property
    def credentials(self) -> Credentials: ...
    @property
    def throttles(self) -> Throttles: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def charges(self) -> Charges: ...
    @property
    def audit(self) -> Audit: ...
    def savepoint(self) -> AbstractContextManager[None]:
        """What runs inside is undone alone if it raises; the transaction goes on."""

    def after_commit(self, action: Callable[[], object]) -> None:
        """Run `action` once the transaction has committed; never if it (or the savepoint
        it was asked in) is undone."""


class AtOnce(Protocol):
    """What `UnitOfWorkOf.at_once` opens: one writing statement, its own transaction. A `Tx`
    is one too."""

    @property
    def now(self) -> dt.datetime: ...
    @property
    def wallets(self) -> WalletChanges: ...
    def after_commit(self, action: Callable[[], object]) -> None:
        """Run `action` once the statement has committed; never if it fails."""


class AccountLookups(Protocol):
    def get(self, account_id: int) -> Account | None: ...
    def get_by_object_id(self, object_id: str) -> Account | None: ...
    def get_by_name(self, kind: Kind, name: str) -> Account | None: ...
    def chain(self, account: Account) -> list[Account]: ...
    def signers(self, kind: Kind, name: str) -> list[Signer]:
        """`Signer` of each of `chain(get_by_name(kind, name))`; [] when there is none."""

    def named_signers(self, name: str) -> list[Signer]:
        """`signers` of the first kind in `tree.NAME_ORDER` with a live account named
        `name` ([]: none)."""

    def standings(self, account: Account) -> list[Standing]:
        """`Standing` of each of `chain(account)[1:]` (its ancestors, nearest first)."""


class WalletLookups(Protocol):
    def get(self, account_id: int) -> Wallet | None: ...


class ThrottleLookups(Protocol):
    def get(self, key: str) -> State:
        """The last committed state, unlocked (as `Throttles.get`)."""


class CredentialLookups(Protocol):
    def key_with_owner(self, key_hash: str) -> tuple[ApiKey, Account] | None: ...


class Lookups(Protocol):
    """The reads by key of a hash-signed call (MOR), of a remembered password (reseller) or
    of an API key's owner: a subset of `Tx`, read-only."""

    @property
    def accounts(self) -> AccountLookups: ...
    @property
    def wallets(self) -> WalletLookups: ...
    @property
    def throttles(self) -> ThrottleLookups: ...
    @property
    def credentials(self) -> CredentialLookups: ...


class ListingLookups(AccountLookups, Protocol):
    """`AccountLookups` and a LINK page's reads (`services.subusers.list_page`), as
    `Accounts` has them; and `expect`, a hint for the reads by key."""

    def listed_page(
        self, root: Account, *, after_path: str | None = None, limit: int = 100, at_most: int
    ) -> tuple[list[tuple[ListedAccount, ListedWallet]], int]: ...
    def subtree_paths(
        self, root: Account, *, after_path: str | None = None, limit: int = 100
    ) -> list[str]: ...
    def chains(self, listed: Sequence[Account | ListedAccount]) -> dict[int, list[Account]]: ...

    def expect(self, account_id: int) -> None:
        """`get(account_id)` will follow `named_signers`: the storage may read it with
        them."""


class PageLookups(Lookups, Protocol):
    """`Lookups` whose `accounts` also read a page of a subtree: what `uow.lookups()` opens."""

    @property
    def accounts(self) -> ListingLookups: ...


TxT_co = TypeVar("TxT_co", bound=Tx, covariant=True)


class UnitOfWorkOf(Protocol[TxT_co]):
    """Transactions, the clock, settings, the password hasher: what every service takes.

    Generic in its transaction type so that a callback a service runs inside one (auth's
    `find` and `then`) may ask for the caller's own kind of Tx.
    """

    @property
    def settings(self) -> Settings: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def passwords(self) -> Passwords: ...
    def write(self) -> AbstractContextManager[TxT_co]:
        """A writing transaction, committed unless it raises."""

    def read(self) -> AbstractContextManager[TxT_co]: ...
    @property
    def writes_at_once(self) -> bool:
        """Whether `at_once` may be used: where a statement alone saves round trips."""

    def at_once(self) -> AbstractContextManager[AtOnce]:
        """A transaction of one writing statement, committed as it runs."""

    def lookups(self) -> AbstractContextManager[PageLookups]:
        """A read transaction for `Lookups` only; the storage may serve it more cheaply."""


UnitOfWork: TypeAlias = UnitOfWorkOf[Tx]


class KeySessions(Protocol):
    """The one read of a client-key call: key, owner, token user and wallet."""

    def key_session(self, key_hash: str, token_hash: str | None) -> KeySession | None: ...
    async def read(self, key_hash: str, token_hash: str | None) -> KeySession | None:
        """`key_session` for a caller on the event loop; the storage chooses how to wait."""


class SessionsUnitOfWork(UnitOfWorkOf[Tx], Protocol):
    """A unit of work that also answers the key-session read (mysms calls)."""

    @property
    def hot(self) -> KeySessions: ...


class Console(Protocol):
    """The web console's sessions and its keyset-paged reads inside one subtree."""

    def add_session(self, **values: Any) -> int: ...
    def session_by_hash(self, token_hash: str) -> ConsoleSession | None: ...
    def sessions(
        self, account_id: int, now: dt.datetime, limit: int = 50
    ) -> list[ConsoleSession]: ...
    def revoke_sessions(
        self, account_id: int, now: dt.datetime, *, session_id: int | None = None
    ) -> int: ...
    def ledger_page(
        self, account_id: int, *, before_id: int | None = None, limit: int = 25
    ) -> list[LedgerEntry]: ...
    def ledger_in_subtree(self, root: Account, *, limit: int = 10) -> list[LedgerEntry]: ...
    def audit_page(
        self,
        root: Account,
        *,
        action: str | None = None,
        target_id: int | None = None,
        before_id: int | None = None,
        limit: int = 25,
    ) -> list[AuditEntry]: ...
    def outbox_page(
        self,
        root: Account | None,
        *,
        status: str | None = None,
        before_id: int | None = None,
        limit: int = 25,
    ) -> list[OutboxMessage]: ...
    def subtree_stats(self, root: Account) -> SubtreeStats: ...
    def under_threshold(
        self, root: Account, *, after_path: str | None, limit: int, scan: int
    ) -> tuple[list[Account], str | None]:
        """Accounts that may be under their low-balance threshold, among the next `scan`
        of the subtree; and where the look stopped (None: at the subtree's end)."""
        ...


class ConsoleTx(Tx, Protocol):
    @property
    def console(self) -> Console: ...


ConsoleUnitOfWork: TypeAlias = UnitOfWorkOf[ConsoleTx]
