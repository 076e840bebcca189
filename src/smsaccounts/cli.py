"""The operator CLI: every command prints one JSON object; lists print JSON lines."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Sequence
from typing import Any

from smsaccounts import __version__, clikit, logs
from smsaccounts.config import PREFIX, Settings
from smsaccounts.domain import money, validation
from smsaccounts.domain.models import ACL_FIELDS, Account, Asset, BillingType
from smsaccounts.domain.phone import PhoneError, parse_msisdn
from smsaccounts.domain.tree import ADMIN_ID, Kind
from smsaccounts.errors import InvalidField, NotFound
from smsaccounts.services import accounts, auth, outbox, provisioning, wallet
from smsaccounts.storage.migrate import upgrade
from smsaccounts.storage.unit_of_work import UnitOfWork, build

Handler = Callable[[UnitOfWork, argparse.Namespace], Any]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every outcome is JSON on stdout, a failure with a non-zero exit."""
    url = os.environ.get(PREFIX + "DATABASE_URL", Settings().database_url)
    try:
        return _run(argv)
    except Exception as error:
        failure = clikit.explain(error, url)
        if failure is None and os.environ.get(PREFIX + "LOG_LEVEL", "").lower() == "debug":
            raise
        failure = failure or clikit.Failure(
            {"error": "internal", "code": "internal", "message": _one_line(error)}
        )
        clikit.emit(failure.body)
        return failure.status


def _run(argv: Sequence[str] | None) -> int:
    settings = Settings.from_env()
    args = _parser(settings).parse_args(argv)
    if args.handler is serve:
        serve(settings, args)
        return 0
    handler: Handler = args.handler
    uow = build(settings)
    try:
        upgrade(uow.db.engine)
        result = handler(uow, args)
    finally:
        uow.db.dispose()
    if isinstance(result, list):
        for item in result:
            clikit.emit(item)
    else:
        clikit.emit(result)
    return 0


def _one_line(error: BaseException) -> str:
    first = str(error).strip().splitlines()
    return f"{type(error).__name__}: {first[0]}" if first else type(error).__name__


def serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from smsaccounts.storage.database import make_engine

    engine = make_engine(settings)
    upgrade(engine)
    engine.dispose()
    logs.configure(settings)  # uvicorn's own lines too, in SMSACCOUNTS_LOG_FORMAT
    uvicorn.run(
        "smsaccounts.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level,
        log_config=None,  # logging is ours (logs.configure), not uvicorn's default
        access_log=False,  # the pipeline writes one access line per request
    )
    return 0


ACCOUNT_HELP = "KIND:NAME (customer:shop), a numeric id, a 24-hex object id, or admin"


def _parser(defaults: Settings) -> argparse.ArgumentParser:
    p = clikit.JsonArgumentParser(prog="smsaccounts", description=__doc__)
    p.add_argument(
        "--version", action="version", help="print the version as JSON and exit",
        version=json.dumps({"name": "smsaccounts", "version": __version__}),
    )  # fmt: skip
    sub = p.add_subparsers(required=True, metavar="COMMAND")
    s = sub.add_parser("serve", help="apply migrations, then serve the API")
    s.add_argument("--host", default=defaults.host, help="address to bind (SMSACCOUNTS_HOST)")
    s.add_argument(
        "--port", type=int, default=defaults.port, help="port to listen on (SMSACCOUNTS_PORT)"
    )
    s.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    s.set_defaults(handler=serve)

    db = _group(sub, "db", "database maintenance")
    db.add_parser("upgrade", help="apply migrations").set_defaults(handler=db_upgrade)

    billing = [t.value for t in BillingType]
    r = _group(sub, "reseller").add_parser("create", help="create a reseller")
    r.add_argument("name", help="the reseller's name (its login for the reseller API)")
    r.add_argument("--password", required=True, help="its reseller API password")
    r.add_argument("--billing-type", choices=billing, default="PRE_PAID", help="its own billing")
    r.add_argument(
        "--default-customer-billing-type",
        choices=billing,
        help="billing type of its customers created without one (default: its own)",
    )
    r.add_argument(
        "--free-credits", type=int, default=0, help="credits granted to each new customer"
    )
    r.add_argument("--credits", type=_credits, default=0, help="credits to start its pool with")
    r.set_defaults(handler=reseller_create)

    c = _group(sub, "customer").add_parser("create", help="create a customer")
    c.add_argument("name", help="the customer's name")
    c.add_argument("--reseller", required=True, help="name of the reseller it belongs to")
    c.add_argument(
        "--billing-type", choices=billing, help="default: the reseller's default customer billing"
    )
    c.set_defaults(handler=customer_create)

    u = _group(sub, "user").add_parser("create", help="create a user and its own API key")
    u.add_argument("username", help="the user's login name")
    u.add_argument("--password", required=True, help="its password (the password policy applies)")
    owner = u.add_mutually_exclusive_group(required=True)
    owner.add_argument("--customer", help="name of the customer it belongs to")
    owner.add_argument("--parent", help="username of the parent user (makes a sub-user)")
    u.add_argument("--msisdn", help="its mobile number in international form: its mysms login")
    u.add_argument("--acl", default="", help="comma-separated ACLs: " + ",".join(_ACL_NAMES))
    u.set_defaults(handler=user_create)

    k = _group(sub, "apikey").add_parser("create", help="create a client application key")
    k.add_argument("name", help="a name for the key")
    k.add_argument("--customer", required=True, help="name of the customer that owns the key")
    k.add_argument(
        "--right", action="append", default=[], help="a right (user.create, user.delete); repeat"
    )
    k.add_argument(
        "--allow-ip", action="append", default=[], help="a CIDR range the key may call from"
    )
    k.set_defaults(handler=apikey_create)

    cr = _group(sub, "credits").add_parser("add", help="add (or with -N remove) credits")
    cr.add_argument("account", help=ACCOUNT_HELP)
    cr.add_argument("amount", type=_credits, help="a signed whole number of credits")
    cr.set_defaults(handler=credits_add)

    b = _group(sub, "balance").add_parser("add", help="add money (a signed decimal)")
    b.add_argument("account", help=ACCOUNT_HELP)
    b.add_argument("amount", help="a signed decimal amount, at most 7 places (-1.25)")
    b.set_defaults(handler=balance_add)

    sec = _group(sub, "secret").add_parser("set", help="set an account's MOR API secret")
    sec.add_argument("account", help=ACCOUNT_HELP)
    sec.add_argument("secret", help="the secret MOR request hashes end with")
    sec.set_defaults(handler=secret_set)

    acc = _group(sub, "account")
    show = acc.add_parser("show", help="an account, its wallet and ACLs")
    show.add_argument("account", help=ACCOUNT_HELP)
    show.set_defaults(handler=account_show)
    aset = acc.add_parser("set", help="set attributes: FIELD=VALUE ...")
    aset.add_argument("account", help=ACCOUNT_HELP)
    aset.add_argument(
        "assignments", nargs="+", metavar="FIELD=VALUE", help="e.g. company=ACME acl_hlr=true"
    )
    aset.set_defaults(handler=account_set)

    o = _group(sub, "outbox").add_parser("list", help="queued and sent SMS, with their text")
    o.add_argument("--to", help="only the SMS to this msisdn")
    o.set_defaults(handler=outbox_list)
    return p


def _group(sub: Any, name: str, help_text: str | None = None) -> Any:
    group = sub.add_parser(name, help=help_text or f"{name} commands")
    return group.add_subparsers(required=True, metavar="COMMAND")


def _credits(raw: str) -> int:
    """A credits amount on the command line, under the same bounds as the APIs'."""
    try:
        return validation.credits("amount", raw)
    except InvalidField as error:
        raise argparse.ArgumentTypeError(error.message) from None


_ACL_NAMES = [name.removeprefix("acl_") for name in ACL_FIELDS]


def db_upgrade(uow: UnitOfWork, _args: argparse.Namespace) -> dict[str, Any]:
    return {"status": "ok", "database": uow.db.engine.url.render_as_string(hide_password=True)}


def reseller_create(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    default = args.default_customer_billing_type
    account = provisioning.create_reseller(
        uow,
        name=args.name,
        password=args.password,
        billing_type=BillingType(args.billing_type),
        default_customer_billing_type=BillingType(default) if default else None,
        free_credits=args.free_credits,
    )
    if args.credits:
        wallet.credit(
            uow, account_id=account.id, asset=Asset.CREDITS, amount=args.credits, reason="operator"
        )
    return _describe(uow, account)


def customer_create(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    reseller = _resolve(uow, f"reseller:{args.reseller}")
    billing = BillingType(args.billing_type) if args.billing_type else None
    account = provisioning.create_customer(
        uow,
        reseller=reseller,
        new=provisioning.NewCustomer(name=args.name, integration_id="", billing_type=billing),
    )
    return _describe(uow, account)


def user_create(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    parent = _resolve(uow, f"customer:{args.customer}" if args.customer else f"user:{args.parent}")
    attributes: dict[str, Any] = {}
    for acl in filter(None, (a.strip() for a in args.acl.split(","))):
        if acl not in _ACL_NAMES:
            raise InvalidField(f"unknown ACL {acl!r}", field="acl")
        attributes[f"acl_{acl}"] = True
    if args.msisdn:
        try:
            number = parse_msisdn(args.msisdn)
        except PhoneError as error:
            raise InvalidField(str(error), field="msisdn") from None
        attributes.update(msisdn=number.digits, country=number.country)
    account = accounts.create(
        uow,
        kind=Kind.USER,
        name=args.username,
        parent_id=parent.id,
        password=args.password,
        **attributes,
    )
    _key, plaintext = auth.create_api_key(
        uow, owner_id=account.id, name=args.username, purpose="user"
    )
    return {**_describe(uow, account), "apikey": plaintext}


def apikey_create(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    customer = _resolve(uow, f"customer:{args.customer}")
    key, plaintext = auth.create_api_key(
        uow,
        owner_id=customer.id,
        name=args.name,
        rights=frozenset(args.right),
        allowed_ips=",".join(args.allow_ip),
    )
    return {
        "id": key.id,
        "name": key.name,
        "customer_id": customer.id,
        "rights": sorted(key.rights),
        "allowed_ips": key.allowed_ips,
        "apikey": plaintext,
    }


def credits_add(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    account = _resolve(uow, args.account)
    entry = wallet.change(
        uow, account_id=account.id, asset=Asset.CREDITS, amount=args.amount, reason="operator"
    )
    return {"id": account.id, "credits": entry.resulting, "ledger_id": entry.id}


def balance_add(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    account = _resolve(uow, args.account)
    try:
        units = money.to_units(money.parse_amount(args.amount))
    except money.MoneyError as error:
        raise InvalidField(str(error), field="amount") from None
    entry = wallet.change(
        uow, account_id=account.id, asset=Asset.BALANCE, amount=units, reason="operator"
    )
    return {
        "id": account.id,
        "balance": money.format_amount(entry.resulting),
        "ledger_id": entry.id,
    }


def secret_set(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    account = _resolve(uow, args.account)
    auth.set_mor_secret(uow, account_id=account.id, secret=args.secret)
    return {"id": account.id, "kind": account.kind.value, "name": account.name, "secret": "set"}


def account_show(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    return _describe(uow, _resolve(uow, args.account))


def account_set(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    account = _resolve(uow, args.account)
    changes: dict[str, Any] = {}
    for assignment in args.assignments:
        field, sep, value = assignment.partition("=")
        if not sep:
            raise InvalidField(f"expected FIELD=VALUE, got {assignment!r}", field=assignment)
        changes[field] = _typed(field, value)
    admin = _resolve(uow, str(ADMIN_ID))
    return _describe(uow, accounts.update(uow, actor=admin, account_id=account.id, changes=changes))


def outbox_list(uow: UnitOfWork, args: argparse.Namespace) -> list[dict[str, Any]]:
    to = args.to.removeprefix("+") if args.to else None
    return [
        {
            "id": m.id,
            "to": m.to_msisdn,
            "text": m.text,
            "purpose": m.purpose,
            "status": m.status,
            "attempts": m.attempts,
            "created_at": m.created_at.isoformat(),
            "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        }
        for m in outbox.list_messages(uow, to_msisdn=to)
    ]


def _resolve(uow: UnitOfWork, ref: str) -> Account:
    """ACCOUNT is KIND:NAME (customer:shop), a numeric id, or `admin`."""
    with uow.read() as tx:
        if ref == "admin":
            found = tx.accounts.get(ADMIN_ID)
        elif ref.isdigit():
            found = tx.accounts.get(int(ref))
        else:
            kind, sep, name = ref.partition(":")
            if not sep or kind not in Kind.__members__.values():
                raise InvalidField(
                    f"ACCOUNT must be KIND:NAME or an id, got {ref!r}", field="account"
                )
            found = tx.accounts.get_by_name(Kind(kind), name)
    if found is None:
        raise NotFound(f"no account {ref}")
    return found


def _typed(field: str, value: str) -> Any:
    booleans = {
        *ACL_FIELDS,
        "enabled",
        "swapping_source_address_allowed",
        "a2a_send_enabled",
        "a2a_receive_enabled",
    }
    if field in booleans:
        return value.lower() in {"1", "true", "yes", "on"}
    if field in {"mo_charge", "free_credits", "sms_routing"}:
        try:
            return int(value)
        except ValueError:
            raise InvalidField(f"{field} must be an integer", field=field) from None
    return value


def _describe(uow: UnitOfWork, account: Account) -> dict[str, Any]:
    w = wallet.get(uow, account_id=account.id)
    return {
        "id": account.id,
        "object_id": account.object_id,
        "kind": account.kind.value,
        "name": account.name,
        "parent_id": account.parent_id,
        "path": account.path,
        "enabled": account.enabled,
        "msisdn": account.msisdn,
        "billing_type": w.billing_type.value,
        "credits": w.credits,
        "free_sms": w.free_sms,
        "balance": money.format_amount(w.balance),
        "currency": w.currency,
    }


if __name__ == "__main__":
    raise SystemExit(main())
