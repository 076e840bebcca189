"""An in-memory unit of work: the protocols of `services.ports`, the rules of the domain.

Services run against it unchanged, with no database. It keeps the rules storage keeps:
the wallet floor (`domain.wallet_rules`, the same function the SQL guard is rendered from),
one ledger entry per idempotency key (IdempotencyKeyTaken), live names and msisdns unique
per kind (AlreadyExists), the admin root as account 1. The lockout rules stay where they
are, in `domain.throttle` applied by the services; the fake only stores their state.

Transactions and savepoints keep an undo log and undo only their own writes when they
raise, so a transaction that commits in between keeps its writes. `interleave` runs one
such transaction at a chosen point, as a concurrent request that wins a race would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from smsaccounts.config import Settings
from smsaccounts.domain import wallet_rules
from smsaccounts.domain.audit import AuditEntry, NewAuditEntry
from smsaccounts.domain.charging import Charge, ChargeTaken, Split
from smsaccounts.domain.clock import Clock, FakeClock
from smsaccounts.domain.credentials import Passwords
from smsaccounts.domain.models import (
    ACL_FIELDS,
    TEXT_FIELDS,
    Account,
    ApiKey,
    Asset,
    BillingType,
    LedgerEntry,
    Pin,
    Signer,
    Standing,
    Wallet,
)
from smsaccounts.domain.outbox import EXPIRED, PENDING, QUEUED, SENDING, OutboxMessage
from smsaccounts.domain.subusers import ListedAccount, ListedWallet
from smsaccounts.domain.throttle import State
from smsaccounts.domain.tree import (
    ADMIN_ID,
    ADMIN_NAME,
    NAME_ORDER,
    Kind,
    ancestor_ids,
    can_access,
    child_path,
    subtree_bounds,
)
from smsaccounts.errors import AlreadyExists, name_taken_code
from smsaccounts.storage.unit_of_work import AfterCommit, run_all

# What the schema's server defaults give an account the insert says nothing about.
_ACCOUNT_DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(TEXT_FIELDS, ""),
    **dict.fromkeys(ACL_FIELDS, False),
    "plan": "standard",
    "language": "en",
    "enabled": True,
    "deactivated": None,
    "password_hash": None,
    "login_key_hash": None,
    "msisdn": None,
    "country": None,
    "mor_secret": None,
    "mo_charge": 0,
    "swapping_source_address_allowed": False,
    "free_credits": 0,
    "sms_routing": 2,
    "a2a_send_enabled": True,
    "a2a_receive_enabled": True,
    "funding": "own",
    "free_sms_grant": 0,
    "low_balance_asset": "credits",
    "low_balance_threshold": None,
    "low_balance_contact": "",
}

_MISSING: Any = object()


@dataclasses.dataclass(frozen=True, slots=True)
class _Token:
    account_id: int
    created_at: dt.datetime
    revoked_at: dt.datetime | None


@dataclasses.dataclass
class Store:
    """The committed state every transaction reads and writes in place."""

    accounts: dict[int, Account] = dataclasses.field(default_factory=dict)
    wallets: dict[int, Wallet] = dataclasses.field(default_factory=dict)
    ledger: dict[int, LedgerEntry] = dataclasses.field(default_factory=dict)
    tokens: dict[str, _Token] = dataclasses.field(default_factory=dict)
    keys: dict[int, ApiKey] = dataclasses.field(default_factory=dict)
    key_hashes: dict[str, int] = dataclasses.field(default_factory=dict)
    pins: dict[str, Pin] = dataclasses.field(default_factory=dict)
    throttles: dict[str, State] = dataclasses.field(default_factory=dict)
    routes: dict[tuple[int, str], int] = dataclasses.field(default_factory=dict)
    outbox: dict[int, OutboxMessage] = dataclasses.field(default_factory=dict)
    audit: dict[int, AuditEntry] = dataclasses.field(default_factory=dict)
    charges: dict[tuple[int, str], Charge] = dataclasses.field(default_factory=dict)
    # Like database sequences, ids are never handed out twice, rolled back or not.
    ids: dict[str, Iterator[int]] = dataclasses.field(default_factory=dict)
    # Run once, just before the next wallet change (see FakeUnitOfWork.interleave).
    before_next_change: Callable[[], object] | None = None

    def next_id(self, table: str) -> int:
        return next(self.ids.setdefault(table, itertools.count(1)))


class FakeTx:
    """One transaction over the store; its writes are logged so that they can be undone."""

    def __init__(
        self, store: Store, now: dt.datetime, *, default_currency: str, email: bool = False
    ) -> None:
        self.store = store
        self.now = now
        self.default_currency = default_currency
        self.email = email
        self._frames: list[list[tuple[dict[Any, Any], Any, Any]]] = []
        self.committed = AfterCommit()
        self.accounts = FakeAccounts(self)
        self.wallets = FakeWallets(self)
        self.credentials = FakeCredentials(self)
        self.throttles = FakeThrottles(self)
        self.outbox = FakeOutbox(self)
        self.audit = FakeAudit(self)
        self.charges = FakeCharges(self)

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo this block's own writes if it raises; otherwise they join the enclosing one."""
        frame: list[tuple[dict[Any, Any], Any, Any]] = []
        self._frames.append(frame)
        try:
            with self.committed.savepoint():
                yield
        except BaseException:
            for table, key, previous in reversed(frame):
                if previous is _MISSING:
                    table.pop(key, None)
                else:
                    table[key] = previous
            raise
        finally:
            self._frames.pop()
        if self._frames:
            self._frames[-1].extend(frame)

    def after_commit(self, action: Callable[[], object]) -> None:
        self.committed.add(action)

    def put(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        self._log(table, key)
        table[key] = value

    def delete(self, table: dict[Any, Any], key: Any) -> None:
        self._log(table, key)
        table.pop(key, None)

    def _log(self, table: dict[Any, Any], key: Any) -> None:
        assert self._frames, "a write outside any transaction"
        self._frames[-1].append((table, key, table.get(key, _MISSING)))


class FakeCharges:
    def __init__(self, tx: FakeTx) -> None:
        self.tx = tx

    def get(self, caller_id: int, reference: str) -> Charge | None:
        return self.tx.store.charges.get((caller_id, reference))

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
        if (caller_id, reference) in self.tx.store.charges:
            raise ChargeTaken(caller_id, reference)
        charge = Charge(self.tx.store.next_id("charges"), caller_id, reference, account_id,
                        payer_id, message_class, recipients, parts, paid.own_free_sms,
                        paid.free_sms, paid.credits, paid.money, None, now)  # fmt: skip
        self.tx.put(self.tx.store.charges, (caller_id, reference), charge)
        return charge

    def refund(self, charge_id: int, parts: int) -> bool:
        for key, charge in self.tx.store.charges.items():
            if charge.id == charge_id and charge.refunded_parts is None:
                self.tx.put(self.tx.store.charges, key,
                            dataclasses.replace(charge, refunded_parts=parts))  # fmt: skip
                return True
        return False


class FakeAudit:
    def __init__(self, tx: FakeTx) -> None:
        self.tx = tx

    def add(self, new: NewAuditEntry) -> None:
        entry_id = self.tx.store.next_id("audit")
        entry = AuditEntry(**{**dataclasses.asdict(new), "changes": dict(new.changes)},
                           id=entry_id)  # fmt: skip
        self.tx.put(self.tx.store.audit, entry_id, entry)

    def entries(
        self,
        *,
        target_id: int | None = None,
        actor_id: int | None = None,
        since: dt.datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        found = [
            e
            for e in self.tx.store.audit.values()
            if (target_id is None or e.target_id == target_id)
            and (actor_id is None or e.actor_id == actor_id)
            and (since is None or e.created_at >= since)
        ]
        return sorted(found, key=lambda e: e.id, reverse=True)[:limit]


class FakeAccounts:
    def __init__(self, tx: FakeTx) -> None:
        self.tx = tx

    @property
    def _all(self) -> dict[int, Account]:
        return self.tx.store.accounts

    def add(
        self, *, kind: Kind, name: str, parent: Account | None, now: dt.datetime, **values: Any
    ) -> Account:
        msisdn = values.get("msisdn")
        for other in self._all.values():
            if other.deactivated is None and (
                (other.kind is kind and other.name == name) or (msisdn and other.msisdn == msisdn)
            ):
                raise AlreadyExists(
                    f"{kind} already exists", code=name_taken_code(kind.value), field="name"
                )
        account_id = self.tx.store.next_id("accounts")
        account = Account(
            **{
                **_ACCOUNT_DEFAULTS,
                **values,
                "id": account_id,
                "object_id": secrets.token_hex(12),
                "kind": kind,
                "name": name,
                "parent_id": parent.id if parent else None,
                "path": child_path(parent.path if parent else None, account_id),
                "created_at": now,
            }
        )
        self.tx.put(self._all, account_id, account)
        return account

    def get(self, account_id: int) -> Account | None:
        return self._all.get(account_id)

    def get_by_object_id(self, object_id: str) -> Account | None:
        return next((a for a in self._all.values() if a.object_id == object_id), None)

    def get_by_name(self, kind: Kind, name: str) -> Account | None:
        return next(
            (
                a
                for a in self._all.values()
                if a.kind is kind and a.name == name and a.deactivated is None
            ),
            None,
        )

    def get_by_msisdn(self, msisdn: str) -> Account | None:
        return next(
            (a for a in self._all.values() if a.msisdn == msisdn and a.deactivated is None), None
        )

    def ancestors(self, account: Account) -> list[Account]:
        return self.chain(account)[1:]

    def standings(self, account: Account) -> list[Standing]:
        return [Standing(a.id, a.enabled, a.deactivated) for a in self.chain(account)[1:]]

    def signers(self, kind: Kind, name: str) -> list[Signer]:
        found = self.get_by_name(kind, name)
        return [] if found is None else [Signer.of(a) for a in self.chain(found)]

    def named_signers(self, name: str) -> list[Signer]:
        for kind in NAME_ORDER:
            if chain := self.signers(kind, name):
                return chain
        return []

    def expect(self, account_id: int) -> None:
        """Nothing to save in memory: `get` reads the store when asked."""

    def chain(self, account: Account, *, lock: bool = False) -> list[Account]:
        del lock  # one thread at a time: nothing to wait for
        if account.id not in self._all:
            return []
        ids = [*ancestor_ids(account.path), account.id]
        return [self._all[i] for i in reversed(ids) if i in self._all]

    def list_subtree(
        self,
        root: Account,
        *,
        after_path: str | None = None,
        limit: int = 100,
        include_root: bool = True,
    ) -> list[Account]:
        low = root.path if include_root else subtree_bounds(root.path)[0]
        high = subtree_bounds(root.path)[1]
        inside = sorted(
            (a for a in self._all.values() if low <= a.path < high), key=lambda a: a.path
        )
        return [a for a in inside if after_path is None or a.path > after_path][:limit]

    def search(
        self,
        root: Account,
        *,
        kind: Kind | None = None,
        text: str | None = None,
        after_path: str | None = None,
        limit: int = 100,
    ) -> list[Account]:
        page = self.list_subtree(root, after_path=after_path, limit=len(self._all))
        needle = (text or "").lower()
        return [
            a
            for a in page
            if (kind is None or a.kind is kind)
            and any(needle in (value or "").lower() for value in (a.name, a.email, a.msisdn))
        ][:limit]

    def list_subtree_wallets(
        self, root: Account, *, after_path: str | None = None, limit: int = 100
    ) -> list[tuple[Account, Wallet]]:
        wallets = self.tx.store.wallets
        page = self.list_subtree(root, after_path=after_path, limit=len(self._all))
        return [(a, wallets[a.id]) for a in page if a.id in wallets][:limit]

    def listed_page(
        self, root: Account, *, after_path: str | None = None, limit: int = 100, at_most: int
    ) -> tuple[list[tuple[ListedAccount, ListedWallet]], int]:
        page = self.list_subtree_wallets(root, after_path=after_path, limit=limit)
        fields, figures = ListedAccount._fields, ListedWallet._fields
        listed = [(ListedAccount(*(getattr(a, f) for f in fields)),
                   ListedWallet(*(getattr(w, f) for f in figures))) for a, w in page]  # fmt: skip
        return listed, self.count_subtree(root, after_path=after_path, at_most=at_most)

    def chains(self, listed: Sequence[Account | ListedAccount]) -> dict[int, list[Account]]:
        return {a.id: self.chain(self._all[a.id]) for a in listed if a.id in self._all}

    def subtree_paths(
        self, root: Account, *, after_path: str | None = None, limit: int = 100
    ) -> list[str]:
        return [a.path for a in self.list_subtree(root, after_path=after_path, limit=limit)]

    def count_subtree(
        self, root: Account, *, after_path: str | None = None, at_most: int | None = None
    ) -> int:
        found = len(self.list_subtree(root, after_path=after_path, limit=len(self._all)))
        return found if at_most is None else min(found, at_most)

    def text_limit(self, field: str) -> int | None:
        del field  # the fake's text attributes are unbounded
        return None

    def children(self, parent: Account) -> list[Account]:
        return sorted(
            (a for a in self._all.values() if a.parent_id == parent.id), key=lambda a: a.id
        )

    def update(self, account_id: int, values: Mapping[str, Any]) -> None:
        account = self._all.get(account_id)
        if account is not None and values:
            self.tx.put(self._all, account_id, dataclasses.replace(account, **values))

    def set_route(self, account_id: int, recipient: str, routing: int) -> None:
        self.tx.put(self.tx.store.routes, (account_id, recipient), routing)

    def get_route(self, account_id: int, recipient: str) -> int | None:
        return self.tx.store.routes.get((account_id, recipient))


class FakeWallets:
    def __init__(self, tx: FakeTx) -> None:
        self.tx = tx

    @property
    def _all(self) -> dict[int, Wallet]:
        return self.tx.store.wallets

    def add(
        self,
        account_id: int,
        *,
        currency: str,
        billing_type: BillingType,
        credit_limit: int | None = None,
    ) -> None:
        assert account_id not in self._all, "one wallet per account"
        wallet = Wallet(
            account_id=account_id,
            credits=0,
            free_sms=0,
            balance=0,
            currency=currency,
            billing_type=billing_type,
            credit_limit=credit_limit,
            use_currency=False,
            messages_sent=0,
            max_messages=None,
            price_per_part=None,
        )
        self.tx.put(self._all, account_id, wallet)

    def get(self, account_id: int) -> Wallet | None:
        return self._all.get(account_id)

    def set_terms(self, account_id: int, **values: Any) -> None:
        wallet = self._all.get(account_id)
        if wallet is not None:
            self.tx.put(self._all, account_id, dataclasses.replace(wallet, **values))

    def apply(self, account_id: int, asset: Asset, amount: int) -> int | None:
        race, self.tx.store.before_next_change = self.tx.store.before_next_change, None
        if race is not None:
            race()
        wallet = self._all.get(account_id)
        if wallet is None or not wallet_rules.allows(wallet, asset, amount):
            return None
        if not wallet_rules.fits(getattr(wallet, asset.value), amount):
            return None
        resulting: int = getattr(wallet, asset.value) + amount
        changed: dict[str, Any] = {asset.value: resulting}
        self.tx.put(self._all, account_id, dataclasses.replace(wallet, **changed))
        return resulting

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
        wallet, account = self._all.get(account_id), self.tx.store.accounts.get(account_id)
        if wallet is None or account is None or account.deactivated is not None:
            return None
        if getattr(wallet, asset.value) != before:
            return None
        resulting = self.apply(account_id, asset, amount)
        if resulting is None:
            return None
        return self.record(account_id=account_id, asset=asset, amount=amount,
                           resulting=resulting, reason=reason, actor_id=actor_id,
                           idempotency_key=None, now=now, audit=audit)  # fmt: skip

    def count_messages(self, account_id: int, count: int) -> bool:
        wallet = self._all.get(account_id)
        if wallet is None:
            return False
        if wallet.max_messages is not None and wallet.messages_sent + count > wallet.max_messages:
            return False
        sent = wallet.messages_sent + count
        self.tx.put(self._all, account_id, dataclasses.replace(wallet, messages_sent=sent))
        return True

    def find_entry(self, account_id: int, asset: Asset, scope: str, key: str) -> LedgerEntry | None:
        found = next(
            (
                e
                for e in self.tx.store.ledger.values()
                if (e.account_id, e.asset, e.idempotency_key) == (account_id, asset, key)
                and wallet_rules.idempotency_scope(e.actor_id, e.reason) == scope
            ),
            None,
        )
        return None if found is None else dataclasses.replace(found, replayed=True)

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
        if idempotency_key is not None:
            scope = wallet_rules.idempotency_scope(actor_id, reason)
            if self.find_entry(account_id, asset, scope, idempotency_key):
                raise wallet_rules.IdempotencyKeyTaken(account_id, asset, scope, idempotency_key)
        if audit is not None:
            FakeAudit(self.tx).add(audit)
        entry = LedgerEntry(
            id=self.tx.store.next_id("ledger"),
            account_id=account_id,
            asset=asset,
            amount=amount,
            resulting=resulting,
            reason=reason,
            actor_id=actor_id,
            idempotency_key=idempotency_key,
            created_at=now,
        )
        self.tx.put(self.tx.store.ledger, entry.id, entry)
        return entry

    def ledger_sum(self, account_id: int, asset: Asset) -> int:
        return sum(
            e.amount
            for e in self.tx.store.ledger.values()
            if e.account_id == account_id and e.asset is asset
        )

    def entries(
        self, account_id: int, *, limit: int = 100, since: dt.datetime | None = None
    ) -> list[LedgerEntry]:
        mine = [
            e
            for e in self.tx.store.ledger.values()
            if e.account_id == account_id and (since is None or e.created_at >= since)
        ]
        return sorted(mine, key=lambda e: e.id, reverse=True)[:limit]


class FakeCredentials:
    def __init__(self, tx: FakeTx) -> None:
        self.tx = tx
        self.store = tx.store

    def add_token(self, account_id: int, token_hash: str, now: dt.datetime) -> None:
        self.tx.put(self.store.tokens, token_hash, _Token(account_id, now, None))

    def account_for_token(self, token_hash: str) -> Account | None:
        token = self.store.tokens.get(token_hash)
        if token is None or token.revoked_at is not None:
            return None
        return self.store.accounts.get(token.account_id)

    def revoke_tokens(self, account_id: int, now: dt.datetime) -> int:
        live = [
            (token_hash, token)
            for token_hash, token in self.store.tokens.items()
            if token.account_id == account_id and token.revoked_at is None
        ]
        for token_hash, token in live:
            self.tx.put(self.store.tokens, token_hash, dataclasses.replace(token, revoked_at=now))
        return len(live)

    def revoke_subtree_tokens(self, path: str, now: dt.datetime) -> int:
        below = [a.id for a in self.store.accounts.values() if can_access(path, a.path)]
        return sum(self.revoke_tokens(account_id, now) for account_id in below)

    def add_key(
        self,
        *,
        account_id: int,
        name: str,
        purpose: str,
        key_hash: str,
        rights: str,
        allowed_ips: str,
        now: dt.datetime,  # noqa: ARG002 - an ApiKey carries no creation time
    ) -> ApiKey:
        key = ApiKey(
            id=self.store.next_id("api_keys"),
            account_id=account_id,
            name=name,
            purpose=purpose,
            rights=frozenset(rights.split()),
            allowed_ips=allowed_ips,
            enabled=True,
            revoked_at=None,
        )
        self.tx.put(self.store.keys, key.id, key)
        self.tx.put(self.store.key_hashes, key_hash, key.id)
        return key

    def key_with_owner(self, key_hash: str) -> tuple[ApiKey, Account] | None:
        key = self.store.keys.get(self.store.key_hashes.get(key_hash, -1))
        owner = self.store.accounts.get(key.account_id) if key else None
        return None if key is None or owner is None else (key, owner)

    def get_key(self, key_id: int) -> ApiKey | None:
        return self.store.keys.get(key_id)

    def list_keys(self, *, account_id: int | None = None) -> list[ApiKey]:
        return sorted(
            (k for k in self.store.keys.values() if account_id in (None, k.account_id)),
            key=lambda k: k.id,
        )

    def revoke_keys(self, account_id: int, now: dt.datetime) -> int:
        live = [k for k in self.list_keys(account_id=account_id) if k.revoked_at is None]
        for key in live:
            self.tx.put(self.store.keys, key.id, dataclasses.replace(key, revoked_at=now))
        return len(live)

    def set_key(self, key_id: int, **values: Any) -> None:
        if isinstance(values.get("rights"), str):
            values["rights"] = frozenset(values["rights"].split())
        key = self.store.keys.get(key_id)
        if key is not None:
            self.tx.put(self.store.keys, key_id, dataclasses.replace(key, **values))

    def put_pin(
        self, msisdn: str, pin_hash: str, now: dt.datetime, expires_at: dt.datetime
    ) -> None:
        self.tx.put(self.store.pins, msisdn, Pin(msisdn, pin_hash, now, expires_at, None))

    def get_pin(self, msisdn: str) -> Pin | None:
        return self.store.pins.get(msisdn)

    def consume_pin(self, msisdn: str, now: dt.datetime) -> bool:
        pin = self.store.pins.get(msisdn)
        if pin is None or pin.consumed_at is not None:
            return False
        self.tx.put(self.store.pins, msisdn, dataclasses.replace(pin, consumed_at=now))
        return True


class FakeThrottles:
    def __init__(self, tx: FakeTx) -> None:
        self.tx = tx

    def get(self, key: str) -> State:
        return self.tx.store.throttles.get(key, State())

    def lock(self, key: str) -> State:
        return self.get(key)  # one thread at a time: nothing to wait for

    def put(self, key: str, state: State) -> None:
        self.tx.put(self.tx.store.throttles, key, state)


class FakeOutbox:
    def __init__(self, tx: FakeTx) -> None:
        self.tx = tx

    @property
    def _all(self) -> dict[int, OutboxMessage]:
        return self.tx.store.outbox

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
        message = OutboxMessage(
            id=self.tx.store.next_id("outbox"),
            account_id=account_id,
            to_msisdn=to_msisdn,
            text=text,
            body=body,
            purpose=purpose,
            status=QUEUED,
            attempts=0,
            next_attempt_at=now,
            expires_at=expires_at,
            last_error=None,
            created_at=now,
            sent_at=None,
            channel=channel,
            destination=destination,
            sender=sender,
        )
        self.tx.put(self._all, message.id, message)
        return message.id

    def messages(self, *, to_msisdn: str | None = None, limit: int = 1000) -> list[OutboxMessage]:
        ordered = sorted(self._all.values(), key=lambda m: m.id)
        return [m for m in ordered if to_msisdn is None or m.to_msisdn == to_msisdn][:limit]

    def due_ids(self, now: dt.datetime, limit: int) -> list[int]:
        due = [m for m in self.messages() if self._due(m, now)]
        return [m.id for m in due][:limit]

    def claim(
        self, message_id: int, now: dt.datetime, lease_until: dt.datetime, *, worker: str
    ) -> OutboxMessage | None:
        message = self._all.get(message_id)
        if message is None or not self._due(message, now):
            return None
        claimed = dataclasses.replace(
            message,
            status=SENDING,
            claimed_until=lease_until,
            claimed_by=worker,
            attempts=message.attempts + 1,
        )
        self.tx.put(self._all, message_id, claimed)
        return claimed

    def finish(self, message_id: int, *, worker: str, **values: Any) -> bool:
        message = self._all.get(message_id)
        if message is None or message.status != SENDING or message.claimed_by != worker:
            return False
        self.mark(message_id, claimed_until=None, claimed_by=None, **values)
        return True

    def mark(self, message_id: int, **values: Any) -> None:
        message = self._all.get(message_id)
        if message is not None:
            self.tx.put(self._all, message_id, dataclasses.replace(message, **values))

    def depth(self) -> int:
        return sum(1 for m in self._all.values() if m.status in PENDING)

    def expire(self, now: dt.datetime) -> int:
        lapsed = [
            m
            for m in self._all.values()
            if m.status in PENDING and m.expires_at is not None and m.expires_at <= now
        ]
        for message in lapsed:
            self.mark(message.id, status=EXPIRED, body=None, claimed_until=None, claimed_by=None)
        return len(lapsed)

    @staticmethod
    def _due(message: OutboxMessage, now: dt.datetime) -> bool:
        waiting = message.status == QUEUED and message.next_attempt_at <= now
        abandoned = (
            message.status == SENDING
            and message.claimed_until is not None
            and message.claimed_until <= now
        )
        return (waiting or abandoned) and (message.expires_at is None or message.expires_at > now)


# Cheap but real argon2id, as the database tests use.
FAST_PASSWORDS = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}


class FakeUnitOfWork:
    """`services.ports.UnitOfWork` in memory: the admin root exists, as after migrating."""

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
        passwords: Passwords | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.clock = clock or FakeClock()
        self.passwords = passwords or Passwords(**FAST_PASSWORDS)
        self.store = Store()
        with self.write() as tx:
            root = tx.accounts.add(kind=Kind.ADMIN, name=ADMIN_NAME, parent=None, now=tx.now)
            assert root.id == ADMIN_ID
            tx.wallets.add(root.id, currency="EUR", billing_type=BillingType.POST_PAID)

    @contextlib.contextmanager
    def write(self) -> Iterator[FakeTx]:
        """A transaction committed unless it raises (then undone, write by write)."""
        tx = FakeTx(self.store, self.clock.now(), default_currency=self.settings.default_currency,
                    email=bool(self.settings.smtp_url))  # fmt: skip
        with tx.savepoint():
            yield tx
        run_all(tx.committed.actions)

    def read(self) -> contextlib.AbstractContextManager[FakeTx]:
        return self.write()

    # Off unless a test turns it on: the services' transactions are what the fakes model.
    writes_at_once = False

    def at_once(self) -> contextlib.AbstractContextManager[FakeTx]:
        return self.write()

    def lookups(self) -> contextlib.AbstractContextManager[FakeTx]:
        return self.write()

    def interleave(self, transaction: Callable[[FakeUnitOfWork], object]) -> None:
        """Run `transaction(self)` once, just before the next wallet change of any request.

        It commits before that change, as a concurrent request that wins the race would
        (the row lock of the wallet makes the loser wait for it).
        """
        self.store.before_next_change = lambda: transaction(self)
