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
from typing import Any

from smsaccounts.domain import funding, phone
from smsaccounts.domain.models import Account, Asset, BillingType, Signer
from smsaccounts.domain.tree import ADMIN_ID, Kind
from smsaccounts.errors import (
    AccountDisabled,
    ErrorCode,
    IncompatibleBillingType,
    InvalidField,
    NotFound,
    not_found_code,
)
from smsaccounts.services import accounts, auth, wallet
from smsaccounts.services.ports import Lookups, Tx, UnitOfWork

FREE_CREDITS_REASON = "free_credits"
ADD_CREDITS_REASON = "reseller_credits"
# The code of an AccountDisabled about an account of each kind; other kinds: ACCOUNT_DISABLED.
_DISABLED_CODES = {Kind.USER: ErrorCode.USER_DISABLED, Kind.CUSTOMER: ErrorCode.CUSTOMER_DISABLED}


@dataclasses.dataclass(frozen=True, slots=True)
class CustomerRef:
    """A customer of the reseller, named by its name or by its object id (one of the two)."""

    name: str | None = None
    object_id: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class NewCustomer:
    name: str
    integration_id: str
    rotation_algorithm: str = "MAX_ROTATION"
    billing_type: BillingType | None = None  # None: the reseller's default customer billing
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
    acls: frozenset[str] = frozenset()  # ACL_FIELDS names switched on (`acl_hlr`)
    funding: str | None = None  # None: `domain.funding`'s default (the customer's pool)


@dataclasses.dataclass(frozen=True, slots=True)
class NewCustomerUser:
    customer_name: str
    username: str
    password: str
    apply_free_credits: bool
    contact_name: str = ""
    email: str = ""
    phone_number: str = ""
    acls: frozenset[str] = frozenset()  # ACL_FIELDS names switched on (`acl_hlr`)


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


def create_reseller(
    uow: UnitOfWork,
    *,
    name: str,
    password: str,
    billing_type: BillingType,
    default_customer_billing_type: BillingType | None = None,
    free_credits: int = 0,
) -> Account:
    """A reseller under the admin; its customers' default billing must suit its own."""
    if default_customer_billing_type is not None:
        check_billing(billing_type, default_customer_billing_type)
    return accounts.create(
        uow,
        kind=Kind.RESELLER,
        name=name,
        parent_id=ADMIN_ID,
        password=password,
        billing_type=billing_type,
        default_customer_billing_type=(
            default_customer_billing_type.value if default_customer_billing_type else ""
        ),
        free_credits=free_credits,
    )


def create_customer(uow: UnitOfWork, *, reseller: Account, new: NewCustomer) -> Account:
    with uow.write() as tx:
        billing_type = new.billing_type or default_customer_billing(tx, reseller)
        check_billing(_billing_type(tx, reseller), billing_type)
        return accounts.add(
            tx,
            kind=Kind.CUSTOMER,
            name=new.name,
            parent=reseller,
            password_hash=None,
            billing_type=billing_type,
            integration_id=new.integration_id,
            rotation_algorithm=new.rotation_algorithm,
            mo_charge=new.mo_charge,
            source_address=new.source_address,
        )


def create_user(uow: UnitOfWork, *, reseller: Account, new: NewUser) -> Account:
    password_hash = auth.hash_new_password(uow, new.password)  # slow: outside the write lock
    with uow.write() as tx:
        customer = usable_customer(tx, reseller, CustomerRef(object_id=new.customer_id))
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
            door=funding.Door.RESELLER,
            **({} if new.funding is None else {"funding": new.funding}),
            **login_msisdn(tx, new.phone_number),
            **granted(new.acls),
        )


def login_msisdn(tx: Tx, phone_number: str) -> dict[str, str | None]:
    """A new user's contact phone number is also its login msisdn (mysms) when it is a valid
    mobile number that no other live account has; otherwise it stays contact data only."""
    number = phone.mobile(phone_number)
    if number is None or tx.accounts.get_by_msisdn(number.digits) is not None:
        return {}
    return {"msisdn": number.digits, "country": number.country}


def granted(acls: frozenset[str]) -> dict[str, Any]:
    """The ACL attributes of a new user. A reseller grants any ACL to the users it creates:
    it manages its whole subtree as an operator does, and holds no ACLs of its own to bound
    them (LINK's rule, that a user grants only ACLs it holds, is between users)."""
    return dict.fromkeys(sorted(acls), True)  # `accounts.add` refuses a name not in ACL_FIELDS


def create_customer_user(
    uow: UnitOfWork, *, reseller: Account, new: NewCustomerUser
) -> tuple[Account, Account]:
    """A customer and its first user in one transaction: both are created or neither.

    The user's phone number is its login msisdn when it may be (`login_msisdn`), and it gets
    the ACLs asked for (`granted`), as with `create_user`.

    The customer is billed as the reseller's default customer billing type says
    (`default_customer_billing`). Free credits are a grant, not taken from the reseller's
    pool: one ledger entry (reason "free_credits") on the new customer for the reseller's
    `free_credits`.
    """
    password_hash = auth.hash_new_password(uow, new.password)
    with uow.write() as tx:
        billing_type = default_customer_billing(tx, reseller)
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
            **login_msisdn(tx, new.phone_number),
            **granted(new.acls),
            door=funding.Door.RESELLER,
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


def add_credits(uow: UnitOfWork, *, reseller: Account, customer: CustomerRef, credits: int) -> int:
    """Move credits from the reseller's pool to a pre-paid customer (negative: back).

    Both wallets change in one transaction with a ledger entry each. The giving side's
    wallet rule decides (InsufficientFunds): a pre-paid reseller gives only what it has,
    and a customer never goes below zero. Answers the customer's credits afterwards.
    """
    with uow.write() as tx:
        target = usable_customer(tx, reseller, customer)
        if _billing_type(tx, target) is BillingType.POST_PAID:
            raise IncompatibleBillingType(
                "credits cannot be transferred to a post-paid customer",
                code=ErrorCode.POST_PAID_TARGET,
            )
        if credits:
            giver, taker = (reseller.id, target.id) if credits > 0 else (target.id, reseller.id)
            wallet.move(
                tx,
                from_id=giver,
                to_id=taker,
                asset=Asset.CREDITS,
                amount=abs(credits),
                reason=ADD_CREDITS_REASON,
                actor_id=reseller.id,
            )
        return _credits(tx, target)


def move_credits(uow: UnitOfWork, *, source: Account, target: Account, credits: int) -> int:
    """`add_credits` as an operator asks for it: from a reseller to one of its customers, or
    back from a customer to its reseller, under the same rules. Answers the customer's
    credits afterwards."""
    if credits <= 0:
        raise InvalidField("credits to move must be positive", field="credits")
    if source.kind is Kind.RESELLER and target.parent_id == source.id:
        return add_credits(
            uow, reseller=source, customer=CustomerRef(object_id=target.object_id), credits=credits
        )
    if target.kind is Kind.RESELLER and source.parent_id == target.id:
        return add_credits(
            uow, reseller=target, customer=CustomerRef(object_id=source.object_id), credits=-credits
        )
    raise InvalidField("credits move only between a reseller and one of its customers", field="to")


def balance(
    uow: UnitOfWork, *, reseller: Account, customer: CustomerRef, user_id: str | None = None
) -> int:
    """The customer's credits, or with `user_id` (an object id) those of one of its users."""
    with uow.lookups() as tx:
        return _balance(tx, reseller, customer, user_id)


def remembered_balance(
    uow: UnitOfWork,
    *,
    name: str,
    password: str,
    client_ip: str | None,
    customer: CustomerRef,
    user_id: str | None = None,
) -> int | None:
    """`authenticate`, then `balance`, from one read on `uow.lookups()` when the reseller's
    password is one this process verified lately (`auth.remembered_login`: no argon2, no
    write). None: it is not (unknown, wrong, not yet verified, a failure on record), and
    `authenticate` must decide. Raises what those two raise on a remembered password.
    """
    if not uow.passwords.verified.enabled:
        return None
    with uow.lookups() as tx:
        # The reseller and its ancestors, only as far as a login reads them (`Signer`):
        # whole, the reseller's row was ~20 µs of the call (cProfile of bench.cpu).
        chain = tx.accounts.signers(Kind.RESELLER, name)
        reseller = auth.remembered_login(
            uow, tx, chain=chain, password=password, client_ip=client_ip
        )
        if reseller is None:
            return None
        return _balance(tx, reseller, customer, user_id)


def _balance(
    tx: Lookups, reseller: Account | Signer, customer: CustomerRef, user_id: str | None
) -> int:
    target = usable_customer(tx, reseller, customer)
    if user_id is None:
        return _credits(tx, target)
    return _credits(tx, _usable(target, tx.accounts.get_by_object_id(user_id), Kind.USER))


def usable_customer(tx: Lookups, reseller: Account | Signer, customer: CustomerRef) -> Account:
    """The reseller's live, enabled customer of that name (or object id)."""
    if customer.name is not None:
        found = tx.accounts.get_by_name(Kind.CUSTOMER, customer.name)
    else:
        found = tx.accounts.get_by_object_id(customer.object_id or "")
    return _usable(reseller, found, Kind.CUSTOMER)


def _usable(actor: Account | Signer, found: Account | None, kind: Kind) -> Account:
    """`found`, if it is an account of `kind` in the actor's subtree, live and enabled."""
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


def default_customer_billing(tx: Tx, reseller: Account) -> BillingType:
    """The billing type of a customer created without one: the reseller's configured default,
    else the reseller's own billing type (so a pre-paid reseller's customers can take credits).
    """
    configured = reseller.default_customer_billing_type
    known = {member.value for member in BillingType}
    return BillingType(configured) if configured in known else _billing_type(tx, reseller)


def _billing_type(tx: Tx, account: Account) -> BillingType:
    found = tx.wallets.get(account.id)
    if found is None:
        raise NotFound("wallet not found", code=ErrorCode.WALLET_NOT_FOUND)
    return found.billing_type


def _credits(tx: Lookups, account: Account) -> int:
    found = tx.wallets.get(account.id)
    if found is None:
        raise NotFound("wallet not found", code=ErrorCode.WALLET_NOT_FOUND)
    return found.credits
