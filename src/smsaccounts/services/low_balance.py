"""Low-balance alerts: a wallet change that crosses its account's threshold downwards
queues one message to the account's contact, in the change's own transaction: an SMS, a
webhook POST of a small JSON document, or an e-mail (`domain.alerts`). None carries a
secret, so what is shown is what is sent."""

from __future__ import annotations

from smsaccounts.domain import alerts, money
from smsaccounts.domain.models import Account, Asset
from smsaccounts.services.ports import Tx

PURPOSE = "low_balance"


def after_change(
    tx: Tx, account_id: int, asset: Asset, before: int, after: int, known: Account | None = None
) -> None:
    """Queue the alert if this change took `asset` of the account below its threshold.

    `known`: the account as this transaction read it, if the caller has it.
    """
    if after >= before or asset is Asset.FREE_SMS:
        return
    account = known if known is not None and known.id == account_id else tx.accounts.get(account_id)
    if account is None or not alerts_on(account, asset, before, after):
        return
    threshold = account.low_balance_threshold
    assert threshold is not None  # `alerts_on`
    shown = _shown if asset is Asset.BALANCE else str
    value, limit = shown(after), shown(threshold)
    text = alerts.text(account.name, asset.value, value, limit)
    contact = account.low_balance_contact
    channel = alerts.channel(contact)
    if channel == alerts.SMS:
        tx.outbox.add(to_msisdn=contact, text=text, body=text, purpose=PURPOSE,
                      account_id=account.id, now=tx.now)  # fmt: skip
        return
    body = text
    if channel == alerts.WEBHOOK:
        body = alerts.document(account_id=account.id, name=account.name, asset=asset.value,
                               value=value, threshold=limit)  # fmt: skip
    tx.outbox.add(to_msisdn="", text=text, body=body, purpose=PURPOSE, account_id=account.id,
                  now=tx.now, channel=channel, destination=contact)  # fmt: skip


def alerts_on(account: Account, asset: Asset, before: int, after: int) -> bool:
    """Whether a change of the account's `asset` from `before` to `after` queues its alert."""
    threshold = account.low_balance_threshold
    if after >= before or asset is Asset.FREE_SMS or threshold is None:
        return False
    if account.low_balance_asset != asset.value or not account.low_balance_contact:
        return False
    return alerts.crossed_down(before, after, threshold)


def _shown(units: int) -> str:
    return money.format_amount(units, 2)
