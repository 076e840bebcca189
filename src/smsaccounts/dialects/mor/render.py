"""From core records and errors to the MOR API's words: the `<page>`, money, error texts."""

from __future__ import annotations

from decimal import Decimal

from smsaccounts.dialects.mor.messages import (
    BalanceUpdate,
    BalanceUpdated,
    Details,
    MainDetail,
    OtherDetails,
    Page,
    Registration,
    UpdatedUser,
)
from smsaccounts.domain import money
from smsaccounts.domain.models import Account, BillingType, LedgerEntry, Wallet

PAGENAME = "Personal_details"
DEFAULT_LANGUAGE = "en"
UNLIMITED = "Unlimited"
_FOUR_PLACES = Decimal("0.0001")

BALANCE_UPDATED = "User balance updated"


def format_money(units: int) -> str:
    """Four decimal places, more (up to the stored seven) only when they are not zero.

    `12.5` -> `12.5000`, `0.1234567` -> `0.1234567`: readable, and never rounded away.
    """
    amount = money.from_units(units)
    four = amount.quantize(_FOUR_PLACES)
    return f"{four:f}" if four == amount else f"{amount.normalize():f}"


def page(account: Account, wallet: Wallet) -> Page:
    """The user_details_get document; empty fields stay as empty elements, as in the seed."""
    return Page(
        pagename=PAGENAME,
        language=account.language or DEFAULT_LANGUAGE,
        userid=str(account.id),
        details=Details(
            main_detail=_main_detail(wallet),
            other_details=_other_details(account),
            registration=_registration(account),
        ),
    )


def balance_updated(account: Account, entry: LedgerEntry) -> BalanceUpdated:
    """The user_balance_update document: the status, and the user with its new balance."""
    user = UpdatedUser(username=account.name, id=str(account.id),
                       balance=format_money(entry.resulting))  # fmt: skip
    return BalanceUpdated(page=BalanceUpdate(status=BALANCE_UPDATED, user=user))


def _main_detail(wallet: Wallet) -> MainDetail:
    balance = format_money(wallet.balance)
    return MainDetail(
        account="Postpaid" if wallet.billing_type is BillingType.POST_PAID else "Prepaid",
        balance=f"{balance} {wallet.currency}",
        balance_number=balance,
        balance_currency=wallet.currency,
        credit=_credit(wallet),
    )


def _credit(wallet: Wallet) -> str:
    """Post-paid: its credit limit or Unlimited; pre-paid never goes below zero, so 0."""
    if wallet.billing_type is BillingType.PRE_PAID:
        return format_money(0)
    return UNLIMITED if wallet.credit_limit is None else format_money(wallet.credit_limit)


def _other_details(account: Account) -> OtherDetails:
    return OtherDetails(
        username=account.name,
        first_name=account.first_name,
        surname=account.surname,
        personalid=account.personalid,
        agreement_number=account.agreement_number,
        agreement_date=account.agreement_date,
        taxation_country=account.taxation_country,
        vat_reg_number=account.vat_reg_number,
        vat_percent=account.vat_percent,
    )


def _registration(account: Account) -> Registration:
    fields = Registration.__struct_fields__
    return Registration(**{name: getattr(account, name) for name in fields})
