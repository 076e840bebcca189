"""Which wallet an account spends from (`domain.funding`), read in the caller's transaction."""

from __future__ import annotations

from typing import TypeVar

from smsaccounts.domain import funding
from smsaccounts.domain.models import Account, Wallet
from smsaccounts.errors import ErrorCode, NotFound
from smsaccounts.services.ports import Lookups

W = TypeVar("W", bound=funding.Figures)


def payer(tx: Lookups, account: Account) -> Account:
    """The nearest account at or above `account` that pays for itself."""
    if account.funding == funding.Funding.OWN:
        return account
    return funding.payer(tx.accounts.chain(account))


def wallets(tx: Lookups, account: Account) -> tuple[Wallet, Wallet]:
    """(the account's own wallet, the wallet it spends from); the same when it pays itself."""
    own = _wallet(tx, account.id)
    return own, paying_wallet(tx, account, own)


def paying_wallet(tx: Lookups, account: Account, own: W) -> W | Wallet:
    """The wallet `account` spends from, given its own (`own`, what it is when it pays)."""
    paying = payer(tx, account)
    return own if paying.id == account.id else _wallet(tx, paying.id)


def spendable(tx: Lookups, account: Account) -> funding.Spendable:
    return funding.spendable(*wallets(tx, account))


def _wallet(tx: Lookups, account_id: int) -> Wallet:
    found = tx.wallets.get(account_id)
    if found is None:
        raise NotFound("wallet not found", code=ErrorCode.WALLET_NOT_FOUND)
    return found
