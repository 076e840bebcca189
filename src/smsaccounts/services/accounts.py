"""Accounts: create, get, list, update, disable, delete; always inside the actor's subtree."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smsaccounts.domain import phone, tree
from smsaccounts.domain.models import ACL_FIELDS, TEXT_FIELDS, Account, BillingType
from smsaccounts.domain.network import normalize_ranges
from smsaccounts.domain.tree import Kind
from smsaccounts.errors import (
    AlreadyExists,
    ErrorCode,
    ForbiddenField,
    InvalidField,
    NotFound,
    name_taken_code,
)
from smsaccounts.services.ports import Tx, UnitOfWork

# What a caller may set on an account through `update`; wallets change only through the
# wallet services, and the tree (parent, kind, path) never changes after creation.
SETTABLE: frozenset[str] = frozenset(
    (
        *TEXT_FIELDS,
        *ACL_FIELDS,
        "name",
        "enabled",
        "mo_charge",
        "free_credits",
        "sms_routing",
        "swapping_source_address_allowed",
        "a2a_send_enabled",
        "a2a_receive_enabled",
        "msisdn",
        "country",
    )
)


def create(
    uow: UnitOfWork,
    *,
    kind: Kind,
    name: str,
    parent_id: int,
    password: str | None = None,
    billing_type: BillingType = BillingType.PRE_PAID,
    currency: str | None = None,
    **attributes: Any,
) -> Account:
    """Create an account under `parent_id` with an empty wallet."""
    with uow.write() as tx:
        parent = tx.accounts.get(parent_id)
        if parent is None:
            raise NotFound("parent account not found")
        password_hash = uow.passwords.hash(password) if password is not None else None
        return add(
            tx,
            kind=kind,
            name=name,
            parent=parent,
            password_hash=password_hash,
            billing_type=billing_type,
            currency=currency,
            **attributes,
        )


def add(
    tx: Tx,
    *,
    kind: Kind,
    name: str,
    parent: Account,
    password_hash: str | None,
    billing_type: BillingType,
    currency: str | None = None,
    **attributes: Any,
) -> Account:
    """Insert an account and its wallet (in `currency`, else the installation's default) in the
    caller's transaction."""
    if not tree.may_parent(parent.kind, kind):
        raise InvalidField(f"a {kind} cannot be placed under a {parent.kind}", field="parent")
    _check_settable(attributes)
    values = _clean(attributes)
    _check_name(name, values.get("msisdn"))
    if tx.accounts.get_by_name(kind, name) is not None:
        raise AlreadyExists(
            f"{kind} name already taken", code=name_taken_code(kind.value), field="name"
        )
    msisdn = values.get("msisdn")
    if msisdn and tx.accounts.get_by_msisdn(msisdn) is not None:
        raise AlreadyExists(
            "msisdn already registered", code=ErrorCode.MSISDN_TAKEN, field="msisdn"
        )
    # A concurrent create may still take the name or msisdn between the checks above and
    # this insert: the repository answers that with AlreadyExists too.
    account = tx.accounts.add(
        kind=kind, name=name, parent=parent, now=tx.now, password_hash=password_hash, **values
    )
    tx.wallets.add(account.id, currency=currency or tx.default_currency, billing_type=billing_type)
    return account


def get(uow: UnitOfWork, *, actor: Account, account_id: int) -> Account:
    with uow.read() as tx:
        return visible(actor, tx.accounts.get(account_id))


def get_by_name(uow: UnitOfWork, *, actor: Account, kind: Kind, name: str) -> Account:
    with uow.read() as tx:
        return visible(actor, tx.accounts.get_by_name(kind, name))


def visible(actor: Account, account: Account | None) -> Account:
    """The one authorization rule: outside the actor's subtree is the same as missing."""
    if account is None or not tree.can_access(actor.path, account.path):
        raise NotFound("account not found")
    return account


def list_subtree(
    uow: UnitOfWork, *, actor: Account, after_path: str | None = None, limit: int = 100
) -> list[Account]:
    """The actor and every account below it, active and inactive, in path order (keyset)."""
    with uow.read() as tx:
        return tx.accounts.list_subtree(actor, after_path=after_path, limit=limit)


def update(
    uow: UnitOfWork, *, actor: Account, account_id: int, changes: Mapping[str, Any]
) -> Account:
    with uow.write() as tx:
        account = visible(actor, tx.accounts.get(account_id))
        return apply_changes(tx, account, changes)


def apply_changes(tx: Tx, account: Account, changes: Mapping[str, Any]) -> Account:
    _check_settable(changes)
    values = _clean(changes)
    new_name = values.get("name")
    if new_name and new_name != account.name:
        _check_name(new_name, values.get("msisdn", account.msisdn))
        other = tx.accounts.get_by_name(account.kind, new_name)
        if other is not None:
            code = name_taken_code(account.kind.value)
            raise AlreadyExists("name already taken", code=code, field="name")
    tx.accounts.update(account.id, values)
    if values.get("enabled") is False:
        # Written after the account row: a login issuing a token holds that row's share
        # lock, so every token issued before this change is among those revoked here.
        tx.credentials.revoke_subtree_tokens(account.path, tx.now)
    return tx.accounts.get(account.id)  # type: ignore[return-value]


def disable(uow: UnitOfWork, *, actor: Account, account_id: int) -> Account:
    """Disable (reversibly): the account and its whole subtree are shut out, and every auth
    token in it is revoked; enabling it again restores what was not disabled itself."""
    with uow.write() as tx:
        account = visible(actor, tx.accounts.get(account_id))
        return apply_changes(tx, account, {"enabled": False})


def enable(uow: UnitOfWork, *, actor: Account, account_id: int) -> Account:
    with uow.write() as tx:
        account = visible(actor, tx.accounts.get(account_id))
        tx.accounts.update(account.id, {"enabled": True})
        return tx.accounts.get(account.id)  # type: ignore[return-value]


def delete(uow: UnitOfWork, *, actor: Account, account_id: int) -> Account:
    with uow.write() as tx:
        return deactivate(tx, visible(actor, tx.accounts.get(account_id)))


def deactivate(tx: Tx, account: Account) -> Account:
    """Delete = deactivate: data and ledger kept, its keys and every token of its subtree
    revoked, msisdn freed. Everything below it is shut out for good (`Principal.active`)."""
    if account.deactivated is None:
        tx.accounts.update(account.id, {"enabled": False, "deactivated": tx.now})
    tx.credentials.revoke_subtree_tokens(account.path, tx.now)
    tx.credentials.revoke_keys(account.id, tx.now)
    return tx.accounts.get(account.id)  # type: ignore[return-value]


def _check_name(name: str, msisdn: str | None) -> None:
    if not phone.name_allowed(name, msisdn):
        raise InvalidField(
            f"a name starting with {phone.MSISDN_NAME_PREFIX} is an msisdn registration's",
            field="name",
        )


def _check_settable(values: Mapping[str, Any]) -> None:
    for field in values:
        if field not in SETTABLE:
            raise ForbiddenField(f"{field} cannot be set here", field=field)


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = dict(values)
    for field in ("iprange", "allowed_ips"):
        if field in cleaned:
            try:
                cleaned[field] = normalize_ranges(str(cleaned[field]))
            except ValueError as error:
                raise InvalidField(str(error), field=field) from None
    if "sms_routing" in cleaned and cleaned["sms_routing"] not in (0, 1, 2):
        raise InvalidField("smsRouting must be 0, 1 or 2", field="sms_routing")
    return cleaned
