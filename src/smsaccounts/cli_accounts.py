"""The CLI's account commands: find, show, list, tree, set, disable, enable, delete, and a
password. Each only translates: the rules are the services' and the domain's."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import getpass
import re
import sys
from typing import Any

from smsaccounts.domain import account_fields, bounds, money
from smsaccounts.domain.models import ACL_FIELDS, Account
from smsaccounts.domain.tree import ADMIN_ID, Kind
from smsaccounts.errors import InvalidField, NotFound
from smsaccounts.services import accounts, audit, auth, wallet
from smsaccounts.storage.unit_of_work import UnitOfWork

ACCOUNT_HELP = "KIND:NAME (customer:shop), a numeric id, a 24-hex object id, or admin"
_OBJECT_ID = re.compile(r"[0-9a-fA-F]{24}")
# Never printed: hashes and secrets (whether a MOR secret is set is shown instead).
_HIDDEN = frozenset(("password_hash", "login_key_hash", "mor_secret"))


def resolve(uow: UnitOfWork, ref: str) -> Account:
    """ACCOUNT is KIND:NAME (customer:shop), a numeric id, a 24-hex object id, or `admin`."""
    with uow.read() as tx:
        if ref == "admin":
            found = tx.accounts.get(ADMIN_ID)
        elif _OBJECT_ID.fullmatch(ref):
            found = tx.accounts.get_by_object_id(ref.lower())
        elif ref.isascii() and ref.isdigit():
            account_id = bounds.parse_id(ref)  # beyond the id column: no such account
            found = tx.accounts.get(account_id) if account_id is not None else None
        else:
            kind, sep, name = ref.partition(":")
            if not sep or kind not in Kind.__members__.values():
                raise InvalidField(
                    f"ACCOUNT must be KIND:NAME, an id or a 24-hex object id, got {ref!r}",
                    field="account",
                )
            found = tx.accounts.get_by_name(Kind(kind), name)
    if found is None:
        raise NotFound(f"no account {ref}")
    return found


def admin(uow: UnitOfWork) -> Account:
    return resolve(uow, "admin")


def summary(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "object_id": account.object_id,
        "kind": account.kind.value,
        "name": account.name,
        "parent_id": account.parent_id,
        "path": account.path,
        "enabled": account.enabled,
        "deleted": account.deactivated is not None,
        "msisdn": account.msisdn,
    }


def describe(uow: UnitOfWork, account: Account) -> dict[str, Any]:
    """Every attribute (no secret), its ACLs and its wallet."""
    w = wallet.get(uow, account_id=account.id)
    attributes = {
        field.name: getattr(account, field.name)
        for field in dataclasses.fields(account)
        if field.name not in _HIDDEN
    }
    return {
        **attributes,
        **summary(account),
        "acls": [name.removeprefix("acl_") for name in ACL_FIELDS if getattr(account, name)],
        "mor_secret_set": account.mor_secret is not None,
        "billing_type": w.billing_type.value,
        "credits": w.credits,
        "free_sms": w.free_sms,
        "balance": money.format_amount(w.balance),
        "currency": w.currency,
    }


def add_parsers(acc: Any, sub: Any, group: Any) -> None:
    """`account …` and `password set` on the CLI's parser."""
    show = acc.add_parser("show", help="an account: every attribute, its ACLs and its wallet")
    show.add_argument("account", help=ACCOUNT_HELP)
    show.set_defaults(handler=account_show)
    aset = acc.add_parser("set", help="set attributes: FIELD=VALUE ...")
    aset.add_argument("account", help=ACCOUNT_HELP)
    aset.add_argument(
        "assignments", nargs="+", metavar="FIELD=VALUE",
        help="e.g. company=ACME acl_hlr=true msisdn=+436761234567 (booleans: true|false)",
    )  # fmt: skip
    aset.set_defaults(handler=account_set)
    ls = acc.add_parser("list", help="accounts in a subtree, one JSON line each, in tree order")
    ls.add_argument("--under", default="admin", help="the subtree's root (default: admin)")
    ls.add_argument("--kind", choices=[k.value for k in Kind], help="only accounts of this kind")
    ls.add_argument("--search", help="only names, e-mails or msisdns containing this text")
    ls.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    ls.add_argument("--after", help="the path of the last account of the previous page")
    ls.set_defaults(handler=account_list)
    tree = acc.add_parser("tree", help="an account and everything below it")
    tree.add_argument("account", help=ACCOUNT_HELP)
    tree.add_argument("--json", action="store_true", help="JSON lines instead of an indented view")
    tree.set_defaults(handler=account_tree)
    for verb, handler, text in (
        ("disable", account_disable, "disable (reversibly) and revoke its auth tokens"),
        ("enable", account_enable, "enable again"),
        ("delete", account_delete, "deactivate for good: keys and tokens revoked, data kept"),
    ):
        p = acc.add_parser(verb, help=text)
        p.add_argument("account", help=ACCOUNT_HELP)
        p.set_defaults(handler=handler)
    pw = group(sub, "password").add_parser("set", help="set an account's password")
    pw.add_argument("account", help=ACCOUNT_HELP)
    pw.add_argument("--stdin", action="store_true", help="read it from stdin instead of prompting")
    pw.set_defaults(handler=password_set)
    al = group(sub, "audit").add_parser("list", help="the audit log, newest first")
    al.add_argument("--account", help="only changes to this ACCOUNT (" + ACCOUNT_HELP + ")")
    al.add_argument("--actor", help="only changes made by this ACCOUNT")
    al.add_argument("--since", type=moment, help="only changes from this ISO 8601 time on")
    al.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    al.set_defaults(handler=audit_list)


def moment(raw: str) -> dt.datetime:
    """An ISO 8601 time on the command line (UTC when it names no zone)."""
    try:
        found = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {raw!r}") from None
    return found if found.tzinfo else found.replace(tzinfo=dt.UTC)


def audit_list(uow: UnitOfWork, args: argparse.Namespace) -> list[dict[str, Any]]:
    if not 1 <= args.limit <= 10_000:
        raise InvalidField("--limit must be from 1 to 10000", field="limit")
    found = audit.entries(
        uow,
        target_id=resolve(uow, args.account).id if args.account else None,
        actor_id=resolve(uow, args.actor).id if args.actor else None,
        since=args.since,
        limit=args.limit,
    )
    return [
        {
            "id": e.id,
            "at": e.created_at.isoformat(),
            "door": e.door,
            "client_ip": e.client_ip,
            "actor_id": e.actor_id,
            "action": e.action,
            "target_id": e.target_id,
            "changes": {field: list(values) for field, values in e.changes.items()},
        }
        for e in found
    ]


def account_show(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    return describe(uow, resolve(uow, args.account))


def account_set(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    account = resolve(uow, args.account)
    changes: dict[str, Any] = {}
    password: str | None = None
    for assignment in args.assignments:
        field, sep, value = assignment.partition("=")
        if not sep:
            raise InvalidField(f"expected FIELD=VALUE, got {assignment!r}", field=assignment)
        if field == "password":  # any account, the admin too (MOR clients always send `p`)
            password = value
            continue
        changes.update(account_fields.parse(field, value))
    updated = accounts.update(
        uow, actor=admin(uow), account_id=account.id, changes=changes, password=password
    )
    return {**describe(uow, updated), **({"password": "set"} if password is not None else {})}


def account_list(uow: UnitOfWork, args: argparse.Namespace) -> list[dict[str, Any]]:
    if not 1 <= args.limit <= 10_000:
        raise InvalidField("--limit must be from 1 to 10000", field="limit")
    found = accounts.search(
        uow,
        actor=resolve(uow, args.under),
        kind=Kind(args.kind) if args.kind else None,
        text=args.search,
        after_path=args.after,
        limit=args.limit,
    )
    return [summary(account) for account in found]


def account_tree(uow: UnitOfWork, args: argparse.Namespace) -> list[Any]:
    root = resolve(uow, args.account)
    found: list[Account] = []
    after: str | None = None
    while page := accounts.list_subtree(uow, actor=root, after_path=after, limit=1000):
        found += page
        after = page[-1].path
    if args.json:
        return [{**summary(a), "depth": a.path.count(".") - root.path.count(".")} for a in found]
    depth = root.path.count(".")
    return [
        "  " * (a.path.count(".") - depth)
        + f"{a.kind.value}:{a.name} (id {a.id}{'' if a.active else ', inactive'})"
        for a in found
    ]


def account_disable(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    target = resolve(uow, args.account)
    return describe(uow, accounts.disable(uow, actor=admin(uow), account_id=target.id))


def account_enable(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    target = resolve(uow, args.account)
    return describe(uow, accounts.enable(uow, actor=admin(uow), account_id=target.id))


def account_delete(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    target = resolve(uow, args.account)
    return describe(uow, accounts.delete(uow, actor=admin(uow), account_id=target.id))


def password_set(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    account = resolve(uow, args.account)
    if args.stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != password:
            raise InvalidField("the two passwords differ", field="password")
    auth.change_password(uow, account_id=account.id, password=password)
    return {**summary(account), "password": "set"}
