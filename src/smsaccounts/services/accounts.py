"""Accounts: create, get, list, update, disable, delete; always inside the actor's subtree."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smsaccounts.domain import alerts, bounds, funding, phone, tree
from smsaccounts.domain.models import ACL_FIELDS, TEXT_FIELDS, Account, Asset, BillingType, Signer
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
from smsaccounts.services import audit, auth, msisdns
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
        "free_sms_grant",
        "funding",
        "low_balance_asset",
        "low_balance_threshold",
        "low_balance_contact",
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
        password_hash = auth.hash_new_password(uow, password) if password is not None else None
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
    door: funding.Door = funding.Door.CLI,
    **attributes: Any,
) -> Account:
    """Insert an account and its wallet (in `currency`, else the installation's default) in the
    caller's transaction.

    Its funding is `attributes["funding"]` when given, else the default for its kind and
    `door` (`domain.funding`); a new user receives the free SMS grant of its customer (else
    of its reseller) as one ledger entry."""
    if not tree.may_parent(parent.kind, kind):
        raise InvalidField(f"a {kind} cannot be placed under a {parent.kind}", field="parent")
    _check_settable(attributes)
    values = _clean(attributes, email=tx.email)
    values.setdefault("funding", funding.default_funding(kind, door).value)
    _check_name(name, values.get("msisdn"))
    if tx.accounts.get_by_name(kind, name) is not None:
        raise AlreadyExists(
            f"{kind} name already taken", code=name_taken_code(kind.value), field="name"
        )
    if values.get("msisdn"):
        _refuse_taken_msisdn(tx, values["msisdn"])
    # A concurrent create may still take the name or msisdn between the checks above and
    # this insert: the repository answers that with AlreadyExists too.
    account = tx.accounts.add(
        kind=kind, name=name, parent=parent, now=tx.now, password_hash=password_hash, **values
    )
    tx.wallets.add(account.id, currency=currency or tx.default_currency, billing_type=billing_type)
    created = {"kind": kind.value, "name": name, "parent_id": parent.id,
               "billing_type": billing_type.value, **values}  # fmt: skip
    if password_hash is not None:
        created["password"] = True
    audit.record(tx, "account.create", account.id, after=created)
    if kind is Kind.USER:
        _grant_free_sms(tx, account, parent)
    return account


FREE_SMS_GRANT_REASON = "free_sms_grant"


def _grant_free_sms(tx: Tx, account: Account, parent: Account) -> None:
    """The free SMS the nearest customer or reseller above grants each new user."""
    from smsaccounts.services import wallet  # wallet imports `visible` from here

    for above in [parent, *tx.accounts.ancestors(parent)]:
        if above.kind in (Kind.CUSTOMER, Kind.RESELLER) and above.free_sms_grant > 0:
            wallet.apply(tx, account_id=account.id, asset=Asset.FREE_SMS,
                         amount=above.free_sms_grant, reason=FREE_SMS_GRANT_REASON,
                         actor_id=above.id)  # fmt: skip
            return


def get(uow: UnitOfWork, *, actor: Account, account_id: int) -> Account:
    with uow.read() as tx:
        return visible(actor, tx.accounts.get(account_id))


def get_by_name(uow: UnitOfWork, *, actor: Account, kind: Kind, name: str) -> Account:
    with uow.read() as tx:
        return visible(actor, tx.accounts.get_by_name(kind, name))


def visible(actor: Account | Signer, account: Account | None) -> Account:
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


def search(
    uow: UnitOfWork,
    *,
    actor: Account,
    kind: Kind | None = None,
    text: str | None = None,
    after_path: str | None = None,
    limit: int = 100,
) -> list[Account]:
    """Accounts in the actor's subtree, in path order (keyset: pass the last one's path)."""
    with uow.read() as tx:
        return tx.accounts.search(actor, kind=kind, text=text, after_path=after_path, limit=limit)


def update(
    uow: UnitOfWork,
    *,
    actor: Account,
    account_id: int,
    changes: Mapping[str, Any],
    password: str | None = None,
) -> Account:
    """Set attributes of an account in the actor's subtree, and with `password` (under the
    password policy) its password, which revokes every auth token of the account; any account,
    the admin included, may be given one. All of it or nothing."""
    password_hash = None
    if password is not None:  # hashed outside the write: slow on purpose
        password_hash = auth.hash_new_password(uow, password)
    with uow.write() as tx:
        account = visible(actor, tx.accounts.get(account_id))
        check_funding_change(actor, account, changes)
        updated = apply_changes(tx, account, changes)
        if password_hash is not None:
            auth.replace_password(tx, account.id, password_hash)
            return tx.accounts.get(account.id)  # type: ignore[return-value]
        return updated


def check_funding_change(actor: Account, account: Account, changes: Mapping[str, Any]) -> None:
    """Who pays for an account is changed by an account above it, never by itself
    (`domain.funding.may_set`); setting the value it already has is no change."""
    wanted = changes.get("funding", account.funding)
    if str(wanted).strip().lower() != account.funding and not funding.may_set(actor.id, account.id):
        raise ForbiddenField("funding is set by an account above this one", field="funding")


def _check_alert_wallet(account: Account, values: Mapping[str, Any]) -> None:
    """A low-balance alert watches the wallet of the account that sets it: an account that
    spends its parent's pool has none to watch (the pool's changes are its payer's, and
    alerting every account below a pool on each of its changes would read a whole subtree)."""
    spends_parents = str(values.get("funding", account.funding)).lower() == funding.Funding.PARENT
    threshold = values.get("low_balance_threshold", account.low_balance_threshold)
    if spends_parents and threshold is not None:
        field = "funding" if "low_balance_threshold" not in values else "low_balance_threshold"
        raise InvalidField(
            "an account that spends its parent's pool has no wallet of its own to watch: set "
            "the low-balance alert on the account that pays",
            field=field,
        )


def apply_changes(
    tx: Tx, account: Account, changes: Mapping[str, Any], *, action: str = "account.update"
) -> Account:
    """Set attributes; a name or msisdn taken by another live account is AlreadyExists, and
    `enabled` false revokes every auth token (whichever door disables)."""
    _check_settable(changes)
    values = _clean(changes, email=tx.email)
    check_texts(tx, values)
    _check_alert_wallet(account, values)
    new_name = values.get("name")
    if new_name and new_name != account.name:
        _check_name(new_name, values.get("msisdn", account.msisdn))
        other = tx.accounts.get_by_name(account.kind, new_name)
        if other is not None:
            code = name_taken_code(account.kind.value)
            raise AlreadyExists("name already taken", code=code, field="name")
    new_msisdn = values.get("msisdn")
    if new_msisdn and new_msisdn != account.msisdn:
        _refuse_taken_msisdn(tx, new_msisdn)
    tx.accounts.update(account.id, values)
    revoked = {}
    if values.get("enabled") is False:
        # Written after the account row: a login issuing a token holds that row's share
        # lock, so every token issued before this change is among those revoked here.
        revoked["tokens_revoked"] = tx.credentials.revoke_subtree_tokens(account.path, tx.now)
    _record_update(tx, action, account, values, revoked)
    return tx.accounts.get(account.id)  # type: ignore[return-value]


def _record_update(
    tx: Tx,
    action: str,
    account: Account,
    values: Mapping[str, Any],
    effects: Mapping[str, Any] | None = None,
) -> None:
    """One audit row: the fields set (before/after) and what the change caused (`effects`,
    e.g. how many tokens it revoked)."""
    before = {field: getattr(account, field) for field in values}
    audit.record(tx, action, account.id, before=before, after={**values, **(effects or {})})


def check_texts(tx: Tx, values: Mapping[str, Any]) -> None:
    """Every text fits its column, and a name is never blank."""
    for field, value in values.items():
        if not isinstance(value, str):
            continue
        limit = tx.accounts.text_limit(field)
        if limit is not None and len(value) > limit:
            raise InvalidField(f"longer than {limit} characters", field=field)
    if values.get("name") is not None and not values["name"].strip():
        raise InvalidField("must not be empty", field="name")


def disable(uow: UnitOfWork, *, actor: Account, account_id: int) -> Account:
    """Disable (reversibly): the account and its whole subtree are shut out, and every auth
    token in it is revoked; enabling it again restores what was not disabled itself."""
    with uow.write() as tx:
        account = visible(actor, tx.accounts.get(account_id))
        return apply_changes(tx, account, {"enabled": False}, action="account.disable")


def enable(uow: UnitOfWork, *, actor: Account, account_id: int) -> Account:
    with uow.write() as tx:
        account = visible(actor, tx.accounts.get(account_id))
        tx.accounts.update(account.id, {"enabled": True})
        _record_update(tx, "account.enable", account, {"enabled": True})
        return tx.accounts.get(account.id)  # type: ignore[return-value]


def delete(uow: UnitOfWork, *, actor: Account, account_id: int) -> Account:
    with uow.write() as tx:
        return deactivate(tx, visible(actor, tx.accounts.get(account_id)))


def deactivate(tx: Tx, account: Account) -> Account:
    """Delete = deactivate: data and ledger kept, its keys and every token of its subtree
    revoked, msisdn freed. Everything below it is shut out for good (`Principal.active`)."""
    changes = {"enabled": False, "deactivated": tx.now} if account.deactivated is None else {}
    if changes:
        tx.accounts.update(account.id, changes)
    # After the account row, as in `apply_changes`: no token issued before this survives.
    revoked = {
        "tokens_revoked": tx.credentials.revoke_subtree_tokens(account.path, tx.now),
        "keys_revoked": tx.credentials.revoke_keys(account.id, tx.now),
    }
    if changes:
        _record_update(tx, "account.delete", account, changes, revoked)
    return tx.accounts.get(account.id)  # type: ignore[return-value]


# Whole-number attributes and what their columns hold (mo_charge INTEGER, free_credits a
# grant of credits: BIGINT, never negative).
_WHOLE_NUMBERS = {
    "mo_charge": (bounds.INT32_MIN, bounds.INT32_MAX),
    "free_credits": (0, bounds.INT64_MAX),
    "free_sms_grant": (0, bounds.INT64_MAX),
}


def _check_whole(field: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidField(f"{field} must be a whole number", field=field)
    try:
        bounds.check_int(value, low=low, high=high)
    except bounds.OutOfRange as error:
        raise InvalidField(
            f"{field} {error}", field=field, code=ErrorCode.VALUE_OUT_OF_RANGE
        ) from None


def _alert_settings(values: Mapping[str, Any], *, email: bool) -> dict[str, Any]:
    """The low-balance settings among `values`, checked (`domain.alerts`)."""
    found: dict[str, Any] = {}
    if "low_balance_asset" in values:
        if values["low_balance_asset"] not in alerts.ASSETS:
            raise InvalidField("low_balance_asset is credits or balance",
                               field="low_balance_asset")  # fmt: skip
        found["low_balance_asset"] = values["low_balance_asset"]
    if values.get("low_balance_threshold") is not None:
        _check_whole("low_balance_threshold", values["low_balance_threshold"], 0,
                     bounds.INT64_MAX)  # fmt: skip
    if "low_balance_contact" in values:
        try:
            found["low_balance_contact"] = alerts.contact(
                str(values["low_balance_contact"]), email_allowed=email
            )
        except ValueError as error:
            raise InvalidField(str(error), field="low_balance_contact") from None
    return found


def _refuse_taken_msisdn(tx: Tx, msisdn: str) -> None:
    if tx.accounts.get_by_msisdn(msisdn) is not None:
        raise AlreadyExists(
            "msisdn already registered", code=ErrorCode.MSISDN_TAKEN, field="msisdn"
        )


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


def _clean(values: Mapping[str, Any], *, email: bool) -> dict[str, Any]:
    cleaned = dict(values)
    for field in ("iprange", "allowed_ips"):
        if field in cleaned:
            try:
                cleaned[field] = normalize_ranges(str(cleaned[field]))
            except ValueError as error:
                raise InvalidField(str(error), field=field) from None
    cleaned.update(_alert_settings(cleaned, email=email))
    if "funding" in cleaned:
        try:
            cleaned["funding"] = funding.parse(str(cleaned["funding"])).value
        except ValueError as error:
            raise InvalidField(str(error), field="funding") from None
    if "sms_routing" in cleaned and cleaned["sms_routing"] not in (0, 1, 2):
        raise InvalidField("smsRouting must be 0, 1 or 2", field="sms_routing")
    for field, (low, high) in _WHOLE_NUMBERS.items():
        if field in cleaned:
            _check_whole(field, cleaned[field], low, high)
    if cleaned.get("msisdn") is not None:
        # Stored canonical whatever door it came through, with the country it names.
        number = msisdns.parse_number(cleaned["msisdn"])
        cleaned["msisdn"] = number.digits
        cleaned.setdefault("country", number.country)
    return cleaned
