"""Reseller provisioning: customers and users created by a reseller, credits moved to them.

A reseller acts on its own subtree only. A customer outside it is reported exactly like
one that does not exist (NotFound, CUSTOMER_NOT_FOUND); a customer inside it that is
disabled is refused with AccountDisabled (CUSTOMER_DISABLED): the reseller has no rights to
act on it until an operator enables it again. The same holds for users (USER_NOT_FOUND,
USER_DISABLED).
Deleted (deactivated) accounts count as missing.
"""

from __future__ import annotations

import dataclasses

from smsaccounts.domain.models import Account, Asset, BillingType
from smsaccounts.domain.tree import Kind
from smsaccounts.errors import (
    AccountDisabled,
    ErrorCode,
    IncompatibleBillingType,
    NotFound,
    not_found_code,
)
from smsaccounts.services import accounts, auth, wallet
from smsaccounts.services.ports import Tx, UnitOfWork

FREE_CREDITS_REASON = "free_credits"
ADD_CREDITS_REASON = "reseller_credits"
# The code of an AccountDisabled about an account of each kind; other kinds: ACCOUNT_DISABLED.
_DISABLED_CODES = {Kind.USER: ErrorCode.USER_DISABLED, Kind.CUSTOMER: ErrorCode.CUSTOMER_DISABLED}


@dataclasses.dataclass(frozen=True, slots=True)
class NewCustomer:
    name: str
    integration_id: str
    rotation_algorithm: str = "MAX_ROTATION"
    billing_type: BillingType = BillingType.POST_PAID
    mo_charge: int = 0
    source_address: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class NewUser:
    username: str
    password: str
    customer_id: str  # the customer's object_id
    email: str
    phone_number: str
    virtual_number: str = ""
    mo_push: str = ""
    final_status_push: str = ""
    swapping_source_address_allowed: bool = False
    source_address: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class NewCustomerUser:
    customer_name: str
    username: str
    password: str
    apply_free_credits: bool
    contact_name: str = ""
    email: str = ""
    phone_number: str = ""


def authenticate(uow: UnitOfWork, *, name: str, password: str, client_ip: str | None) -> Account:
    """The reseller behind a name and password, under the login lockout, calling from
    inside its `iprange`.

    Raises NotFound (RESELLER_NOT_FOUND), AuthenticationFailed, Blocked, AccountDisabled or
    AccessDenied (IP_NOT_ALLOWED); nothing about any customer has been read yet when it does.
    """
    try:
        return auth.authenticate_password(
            uow,
            door="reseller",
            name=name,
            find=lambda tx: tx.accounts.get_by_name(Kind.RESELLER, name),
            password=password,
            client_ip=client_ip,
        )
    except NotFound:
        raise NotFound("reseller not found", code=ErrorCode.RESELLER_NOT_FOUND) from None


def check_billing(reseller: BillingType, customer: BillingType) -> None:
    """A pre-paid reseller pays up front for its customers, so they cannot be post-paid."""
    if reseller is BillingType.PRE_PAID and customer is BillingType.POST_PAID:
        raise IncompatibleBillingType("a pre-paid reseller cannot have post-paid customers")


def create_customer(uow: UnitOfWork, *, reseller: Account, new: NewCustomer) -> Account:
    with uow.write() as tx:
        check_billing(_billing_type(tx, reseller), new.billing_type)
        return accounts.add(
            tx,
            kind=Kind.CUSTOMER,
            name=new.name,
            parent=reseller,
            password_hash=None,
            billing_type=new.billing_type,
            integration_id=new.integration_id,
            rotation_algorithm=new.rotation_algorithm,
            mo_charge=new.mo_charge,
            source_address=new.source_address,
        )


def create_user(uow: UnitOfWork, *, reseller: Account, new: NewUser) -> Account:
    password_hash = uow.passwords.hash(new.password)  # slow on purpose: outside the write lock
    with uow.write() as tx:
        customer = usable_customer(tx, reseller, new.customer_id)
        return accounts.add(
            tx,
            kind=Kind.USER,
            name=new.username,
            parent=customer,
            password_hash=password_hash,
            billing_type=_billing_type(tx, customer),
            email=new.email,
            phone_number=new.phone_number,
            virtual_number=new.virtual_number,
            mo_push=new.mo_push,
            final_status_push=new.final_status_push,
            swapping_source_address_allowed=new.swapping_source_address_allowed,
            source_address=new.source_address,
        )


def create_customer_user(
    uow: UnitOfWork, *, reseller: Account, new: NewCustomerUser
) -> tuple[Account, Account]:
    """A customer and its first user in one transaction: both are created or neither.

    The customer is billed as the reseller's default customer billing type says (POST_PAID
    when unset). Free credits are a grant, not taken from the reseller's pool: one ledger
    entry (reason "free_credits") on the new customer for the reseller's `free_credits`.
    """
    password_hash = uow.passwords.hash(new.password)
    with uow.write() as tx:
        billing_type = _default_customer_billing(reseller)
        check_billing(_billing_type(tx, reseller), billing_type)
        customer = accounts.add(
            tx,
            kind=Kind.CUSTOMER,
            name=new.customer_name,
            parent=reseller,
            password_hash=None,
            billing_type=billing_type,
            rotation_algorithm="CONVERSATION",
            contact_name=new.contact_name,
        )
        user = accounts.add(
            tx,
            kind=Kind.USER,
            name=new.username,
            parent=customer,
            password_hash=password_hash,
            billing_type=billing_type,
            contact_name=new.contact_name,
            email=new.email,
            phone_number=new.phone_number,
        )
        if new.apply_free_credits and reseller.free_credits:
            wallet.apply(
                tx,
                account_id=customer.id,
                asset=Asset.CREDITS,
                amount=reseller.free_credits,
                reason=FREE_CREDITS_REASON,
                actor_id=reseller.id,
            )
        return user, customer


def add_credits(uow: UnitOfWork, *, reseller: Account, customer_id: str, credits: int) -> int:
    """Move credits from the reseller's pool to a pre-paid customer (negative: back).

    Both wallets change in one transaction with a ledger entry each. The giving side's
    wallet rule decides (InsufficientFunds): a pre-paid reseller gives only what it has,
    and a customer never goes below zero. Answers the customer's credits afterwards.
    """
    with uow.write() as tx:
        customer = usable_customer(tx, reseller, customer_id)
        if _billing_type(tx, customer) is BillingType.POST_PAID:
            raise IncompatibleBillingType(
                "credits cannot be transferred to a post-paid customer",
                code=ErrorCode.POST_PAID_TARGET,
            )
        if credits:
            giver, taker = (reseller.id, customer.id) if credits > 0 else (customer.id, reseller.id)
            wallet.move(
                tx,
                from_id=giver,
                to_id=taker,
                asset=Asset.CREDITS,
                amount=abs(credits),
                reason=ADD_CREDITS_REASON,
                actor_id=reseller.id,
            )
        return _credits(tx, customer)


def balance(
    uow: UnitOfWork, *, reseller: Account, customer_id: str, user_id: str | None = None
) -> int:
    """The customer's credits, or with `user_id` the credits of one of its users."""
    with uow.read() as tx:
        customer = usable_customer(tx, reseller, customer_id)
        if user_id is None:
            return _credits(tx, customer)
        return _credits(tx, _usable(tx, customer, user_id, Kind.USER))


def usable_customer(tx: Tx, reseller: Account, object_id: str) -> Account:
    return _usable(tx, reseller, object_id, Kind.CUSTOMER)


def _usable(tx: Tx, actor: Account, object_id: str, kind: Kind) -> Account:
    """An account of `kind` in the actor's subtree, live and enabled."""
    found = tx.accounts.get_by_object_id(object_id)
    try:
        account = accounts.visible(actor, found)
    except NotFound:
        raise NotFound(f"{kind} not found", code=not_found_code(kind.value)) from None
    if account.kind is not kind or account.deactivated is not None:
        raise NotFound(f"{kind} not found", code=not_found_code(kind.value))
    if not account.enabled:
        code = _DISABLED_CODES.get(kind, ErrorCode.ACCOUNT_DISABLED)
        raise AccountDisabled(f"{kind} disabled", account_id=account.id, code=code)
    return account


def _default_customer_billing(reseller: Account) -> BillingType:
    configured = reseller.default_customer_billing_type
    known = {member.value for member in BillingType}
    return BillingType(configured) if configured in known else BillingType.POST_PAID


def _billing_type(tx: Tx, account: Account) -> BillingType:
    found = tx.wallets.get(account.id)
    if found is None:
        raise NotFound("wallet not found", code=ErrorCode.WALLET_NOT_FOUND)
    return found.billing_type


def _credits(tx: Tx, account: Account) -> int:
    found = tx.wallets.get(account.id)
    if found is None:
        raise NotFound("wallet not found", code=ErrorCode.WALLET_NOT_FOUND)
    return found.credits
