"""Charging a message and refunding it: what a sending gateway calls before and after it
sends (the charging API, LINK's message submission).

`charge` authorizes and debits in one transaction: the sender and every account above it
act; every recipient is allowed (`domain.charging.recipients`); the class is allowed; the
sender's `max_messages` is not passed; the cost (recipients x parts) is taken from free SMS
first, then credits or money of the paying wallet (`domain.funding`), each wallet change
one conditional UPDATE plus its ledger row (reason `charge`). A charge is kept under its
caller and reference: a replay answers the first charge and moves nothing.

Concurrent charges on one pool never oversell: each debit's UPDATE checks the floor in its
WHERE. When a debit finds the wallet changed since it was read (another charge took free
SMS first), the charge's changes roll back to a savepoint and it plans again from the
values now committed, a bounded number of times.

`refund` puts back at most what a charge took, once (reason `refund`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from prometheus_client import Counter

from smsaccounts import metrics
from smsaccounts.domain import bounds, charging, credentials, funding, money, sms, wallet_rules
from smsaccounts.domain.charging import Charge, ChargeTaken, MessageClass, Split
from smsaccounts.domain.models import Account, Asset, acting
from smsaccounts.domain.tree import Kind
from smsaccounts.errors import (
    AccountDisabled,
    AuthenticationFailed,
    ChargeRefused,
    ErrorCode,
    InsufficientFunds,
    InvalidField,
    NotFound,
)
from smsaccounts.services import apikeys, auth, wallet
from smsaccounts.services.accounts import visible
from smsaccounts.services.funding import spendable as spendable_of
from smsaccounts.services.ports import Tx, UnitOfWork

CHARGE_REASON = "charge"
REFUND_REASON = "refund"
MAX_REFERENCE = 128  # the column's width
# Plans tried against a moving pool before giving up as insufficient: each retry follows a
# concurrent charge that took what this one had planned on, so the pool did move.
ATTEMPTS = 16


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    """What is charged: recipients, and the text (its parts counted) or a part count."""

    recipients: Sequence[object]
    text: str | None = None
    parts: int | None = None  # per recipient, when the caller counted them (no text)
    message_class: MessageClass = MessageClass.STANDARD
    price: int = 0  # units: a premium message's price, for the aclBillingHigh rule


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    """A charge (or refund) and what the sender can spend after it."""

    charge: Charge
    spendable: funding.Spendable
    replayed: bool = False


GATEWAY_KEY = "gateway"  # the purpose of a sending gateway's key (`apikey create --gateway`)


@dataclasses.dataclass(frozen=True, slots=True)
class SenderRef:
    """How a gateway names the sender: its own (LINK) API key, its username or its id."""

    apikey: str | None = None
    username: str | None = None
    account_id: int | None = None


def authenticate_gateway(uow: UnitOfWork, *, key: str, client_ip: str | None) -> Account:
    """The owner of a live gateway key; any other key answers like an unknown one."""
    api_key, owner = auth.authenticate_api_key(uow, key=key, client_ip=client_ip)
    if api_key.purpose != GATEWAY_KEY:
        raise AuthenticationFailed("not a gateway key", code=ErrorCode.API_KEY_INVALID)
    return owner


def find_sender(uow: UnitOfWork, *, caller: Account, sender: SenderRef) -> Account:
    """The user a gateway names, inside the gateway owner's subtree (else not found)."""
    named = [v for v in (sender.apikey, sender.username, sender.account_id) if v is not None]
    if len(named) != 1:
        raise InvalidField("name the sender by exactly one of apikey, username or account_id",
                           field="sender")  # fmt: skip
    with uow.lookups() as tx:
        found: Account | None = None
        if sender.apikey is not None:
            keyed = tx.credentials.key_with_owner(credentials.secret_hash(sender.apikey))
            if keyed and keyed[0].purpose == apikeys.USER_KEY and keyed[0].active:
                found = keyed[1]
        elif sender.username is not None:
            found = tx.accounts.get_by_name(Kind.USER, sender.username)
        elif sender.account_id is not None and bounds.is_id(sender.account_id):
            found = tx.accounts.get(sender.account_id)
    if found is None or found.deactivated is not None:
        raise NotFound("no such sender", code=ErrorCode.USER_NOT_FOUND)
    return visible(caller, found)


def charge(
    uow: UnitOfWork,
    *,
    caller: Account,
    account: Account,
    reference: str,
    message: Message,
    then: Callable[[Tx, Charge, list[str]], None] | None = None,
) -> Result:
    """Authorize and debit `message` for `account`, once per (caller, reference).

    `then` runs in the same transaction after a new charge, with the recipients' canonical
    numbers (LINK's message submission queues the message there): both happen or neither.
    """
    _check_reference(reference)
    per_recipient = _parts(message)
    with uow.write() as tx:
        earlier = tx.charges.get(caller.id, reference)
        if earlier is not None:
            return _answer(tx, account, earlier, replayed=True)
        chain = tx.accounts.chain(account, lock=True)
        if not chain or not acting(chain).active:
            raise AccountDisabled("the sender or an account above it is disabled")
        sender = chain[0]
        numbers = charging.recipients(message.recipients, prefixes=sender.prefixes,
                                      countries=uow.settings.allowed_countries)  # fmt: skip
        high = money.to_units(money.parse_amount(uow.settings.premium_high_price))
        charging.check_class(sender, message.message_class, message.price, high)
        payer = funding.payer(chain)
        try:
            with tx.savepoint():
                made = _debit(tx, caller, sender, payer, reference, message.message_class,
                              len(numbers), len(numbers) * per_recipient)  # fmt: skip
        except ChargeTaken:
            earlier = tx.charges.get(caller.id, reference)
            if earlier is None:
                raise
            return _answer(tx, account, earlier, replayed=True)
        if then is not None:
            then(tx, made, numbers)
        tx.after_commit(lambda: _count(metrics.CHARGED_PARTS, made.parts, _paid(made)))
        return _answer(tx, sender, made)


def refund(uow: UnitOfWork, *, caller: Account, reference: str, parts: int) -> Result:
    """Put back `parts` of the caller's charge under `reference` (at most what it took), once."""
    _check_reference(reference)
    if isinstance(parts, bool) or not isinstance(parts, int) or parts <= 0:
        raise InvalidField("parts must be a positive whole number", field="parts")
    with uow.write() as tx:
        found = tx.charges.get(caller.id, reference)
        if found is None:
            raise NotFound("no charge under that reference", code=ErrorCode.CHARGE_NOT_FOUND)
        if parts > found.parts:
            raise ChargeRefused(f"the charge took {found.parts} parts",
                                code=ErrorCode.REFUND_EXCEEDS_CHARGE, field="parts")  # fmt: skip
        if not tx.charges.refund(found.id, parts):
            raise ChargeRefused("the charge was refunded already",
                                code=ErrorCode.REFUND_ALREADY_MADE)  # fmt: skip
        back = charging.refund_split(found, parts)
        _move(tx, caller, found.account_id, found.payer_id, back, sign=1, reason=REFUND_REASON)
        sender = tx.accounts.get(found.account_id)
        assert sender is not None  # a charge's account is never removed
        refunded = dataclasses.replace(found, refunded_parts=parts)
        tx.after_commit(lambda: _count(metrics.REFUNDED_PARTS, parts, back))
        return _answer(tx, sender, refunded)


def _paid(found: Charge) -> Split:
    return Split(found.own_free_sms, found.free_sms, found.credits, found.money)


def _count(counter: Counter, parts: int, split: Split) -> None:
    """Count `parts` by what paid them: free SMS, credits, the rest money (a split holds
    money as an amount, not as parts)."""
    free = split.own_free_sms + split.free_sms
    for asset, counted in (("free_sms", free), ("credits", split.credits),
                           ("balance", parts - free - split.credits)):  # fmt: skip
        if counted:
            counter.labels(asset).inc(counted)


def _debit(tx: Tx, caller: Account, sender: Account, payer: Account, reference: str,
           message_class: str, recipients: int, parts: int) -> Charge:  # fmt: skip
    if not tx.wallets.count_messages(sender.id, parts):
        raise ChargeRefused("the sender's max_messages would be passed",
                            code=ErrorCode.MESSAGE_LIMIT_REACHED)  # fmt: skip
    paid = _pay(tx, caller, sender, payer, parts)
    return tx.charges.add(caller_id=caller.id, reference=reference, account_id=sender.id,
                          payer_id=payer.id, message_class=message_class,
                          recipients=recipients, parts=parts, paid=paid, now=tx.now)  # fmt: skip


def _pay(tx: Tx, caller: Account, sender: Account, payer: Account, parts: int) -> Split:
    """Take `parts` as `charging.split` plans it on the wallets as committed now; plan
    again when a concurrent charge moved them first."""
    for _attempt in range(ATTEMPTS):
        own = tx.wallets.get(sender.id)
        paying = own if payer.id == sender.id else tx.wallets.get(payer.id)
        assert own is not None  # every account has its wallet
        assert paying is not None
        plan = charging.split(parts, own, paying)
        if not (wallet_rules.allows(paying, Asset.CREDITS, -plan.credits)
                and wallet_rules.allows(paying, Asset.BALANCE, -plan.money)):  # fmt: skip
            raise InsufficientFunds("insufficient funds for this message", account_id=payer.id)
        try:
            with tx.savepoint():
                _move(tx, caller, sender.id, payer.id, plan, sign=-1, reason=CHARGE_REASON,
                      payer=payer)  # fmt: skip
        except InsufficientFunds:
            continue  # a concurrent charge took what this plan counted on: plan again
        return plan
    raise InsufficientFunds("the pool kept changing; try again", account_id=payer.id)


def _move(tx: Tx, caller: Account, sender_id: int, payer_id: int, split: Split, *,
          sign: int, reason: str, payer: Account | None = None) -> None:  # fmt: skip
    """One wallet change (and ledger row) per asset and wallet the split names (`payer`:
    the paying account as this transaction read it, if the caller has it)."""
    changes = ((sender_id, Asset.FREE_SMS, split.own_free_sms),
               (payer_id, Asset.FREE_SMS, split.free_sms),
               (payer_id, Asset.CREDITS, split.credits),
               (payer_id, Asset.BALANCE, split.money))  # fmt: skip
    for account_id, asset, amount in changes:
        if amount:
            wallet.apply(tx, account_id=account_id, asset=asset, amount=sign * amount,
                         reason=reason, actor_id=caller.id, account=payer)  # fmt: skip


def _answer(tx: Tx, account: Account, found: Charge, *, replayed: bool = False) -> Result:
    return Result(found, spendable_of(tx, account), replayed)


def _parts(message: Message) -> int:
    if message.text is not None:
        counted = sms.count(message.text).parts
    elif message.parts is not None:
        counted = message.parts
    else:
        raise InvalidField("a text or a number of parts is required", field="text")
    if isinstance(counted, bool) or not 1 <= counted <= sms.MAX_PARTS:
        raise ChargeRefused(f"a message has 1 to {sms.MAX_PARTS} parts",
                            code=ErrorCode.MESSAGE_TOO_LONG, field="text")  # fmt: skip
    return counted


def _check_reference(reference: str) -> None:
    if not 0 < len(reference) <= MAX_REFERENCE:
        raise InvalidField(f"a reference has 1 to {MAX_REFERENCE} characters",
                           field="reference")  # fmt: skip
