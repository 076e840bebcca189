"""The console's pages: dashboard, tree browser, account, outbox and audit log.

Every list is a keyset page (`after`/`before` name the last row shown) of at most PAGE
rows; the dashboard's subtree counts and sums are the only whole-subtree reads, cached for
`console_stats_seconds`.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from smsaccounts.console import chart
from smsaccounts.console.web import Console, Signed, not_found
from smsaccounts.domain.console import SubtreeStats
from smsaccounts.domain.models import Account
from smsaccounts.domain.outbox import EXPIRED, FAILED, QUEUED, SENDING, SENT
from smsaccounts.domain.tree import Kind, can_access
from smsaccounts.errors import NotFound
from smsaccounts.services import accounts, apikeys, console, wallet

PAGE = 25
LOW_SHOWN = 10  # accounts under their low-balance threshold on the dashboard at once
STATS_CACHED = 10_000  # accounts whose dashboard figures are kept at once
CHART_ROWS = 200  # the latest ledger rows the chart is drawn from
OUTBOX_STATES = (QUEUED, SENDING, SENT, FAILED, EXPIRED)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


def _stats(c: Console, root: Account) -> SubtreeStats:
    cached = c.stats_cache.get(root.id)
    if cached and time.monotonic() - cached[0] < c.uow.settings.console_stats_seconds:
        stats: SubtreeStats = cached[1]
        return stats
    stats = console.stats(c.uow, root=root)
    if len(c.stats_cache) >= STATS_CACHED:  # bounded: one entry per signed-in account
        c.stats_cache.clear()
    c.stats_cache[root.id] = (time.monotonic(), stats)
    return stats


async def dashboard(c: Console, request: Request, signed: Signed) -> Response:
    me = signed.account
    low_after = request.query_params.get("low_after") or None

    def read() -> dict[str, Any]:
        return {
            "stats": _stats(c, me),
            "ledger": console.latest_ledger(c.uow, root=me, limit=10),
            "audit": console.audit_page(c.uow, root=me, limit=10),
            "wallet": wallet.get(c.uow, account_id=me.id),
            "low": console.low_balance(c.uow, root=me, after_path=low_after, limit=LOW_SHOWN),
            "low_after": low_after,
        }

    return c.render(request, "dashboard.html", me=signed, **await run_in_threadpool(read))


async def tree(c: Console, request: Request, signed: Signed) -> Response:
    me = signed.account
    query = request.query_params.get("q", "").strip()
    after = request.query_params.get("after") or None
    root_id = _int(request.query_params.get("root"))

    def read() -> dict[str, Any] | None:
        try:
            root = accounts.get(c.uow, actor=me, account_id=root_id) if root_id else me
        except NotFound:
            return None
        exact = console.exact(c.uow, actor=me, query=query) if query and after is None else []
        if query:
            rows = accounts.search(c.uow, actor=root, text=query, after_path=after, limit=PAGE + 1)
        else:
            rows = accounts.list_subtree(c.uow, actor=root, after_path=after, limit=PAGE + 1)
        return {
            "root": root,
            "exact": exact,
            "rows": rows[:PAGE],
            "next_after": rows[PAGE - 1].path if len(rows) > PAGE else None,
            "crumbs": console.breadcrumbs(c.uow, actor=me, account=root),
        }

    found = await run_in_threadpool(read)
    if found is None:
        return not_found(c, request, signed)
    return c.render(request, "tree.html", me=signed, q=query, depth=_depth, **found)


def _depth(account: Account) -> int:
    return account.path.count(".")


async def account(c: Console, request: Request, signed: Signed) -> Response:
    found = await run_in_threadpool(_account_context, c, signed, request)
    if found is None:
        return not_found(c, request, signed)
    return c.render(request, "account.html", me=signed, **found)


def _account_context(
    c: Console, signed: Signed, request: Request, **extra: Any
) -> dict[str, Any] | None:
    me = signed.account
    account_id = int(request.path_params["account_id"])
    before = _int(request.query_params.get("before"))
    try:
        target, purse = wallet.get_visible(c.uow, actor=me, account_id=account_id)
        ledger = console.ledger_page(
            c.uow, actor=me, account_id=account_id, before_id=before, limit=PAGE + 1
        )
        recent = console.ledger_page(
            c.uow, actor=me, account_id=account_id, before_id=None, limit=CHART_ROWS
        )
    except NotFound:
        return None
    payer, paying = console.paying(c.uow, account=target)
    return {
        "target": target,
        "wallet": purse,
        "payer": payer,
        "paying": paying,
        "payer_visible": can_access(me.path, payer.path),
        "ledger": ledger[:PAGE],
        "next_before": ledger[PAGE - 1].id if len(ledger) > PAGE else None,
        "chart": chart.build(recent),
        "keys": apikeys.list_keys(c.uow, account_id=target.id),
        "crumbs": console.breadcrumbs(c.uow, actor=me, account=target),
        "child_kind": child_kind(me, target),
        "can_transfer": transfer_source(me, target) is not None,
        "can_top_up": me.kind is Kind.ADMIN and target.kind is Kind.RESELLER,
        "is_self": target.id == me.id,
        "attributes": _attributes(target),
        **extra,
    }


def child_kind(me: Account, target: Account) -> Kind | None:
    """What kind of account the actor may create under `target` (None: nothing).

    As the APIs allow: the admin creates resellers, a reseller customers, a customer (or
    its reseller, or the admin) users under that customer, an aclAdmin user sub-users.
    """
    if target.id == me.id:
        return {Kind.ADMIN: Kind.RESELLER, Kind.RESELLER: Kind.CUSTOMER,
                Kind.CUSTOMER: Kind.USER, Kind.USER: Kind.USER}.get(me.kind)  # fmt: skip
    if target.kind is Kind.CUSTOMER and me.kind in (Kind.ADMIN, Kind.RESELLER):
        return Kind.USER
    return None


def transfer_source(me: Account, target: Account) -> int | None:
    """The reseller a customer's credits move from and back to, if the actor may move them:
    the customer's own reseller (or the admin on its behalf)."""
    if target.kind is not Kind.CUSTOMER or target.parent_id is None:
        return None
    if me.kind is Kind.RESELLER and target.parent_id == me.id:
        return me.id
    if me.kind is Kind.ADMIN:
        return target.parent_id
    return None


_SHOWN = (
    "email",
    "phone_number",
    "msisdn",
    "contact_name",
    "company",
    "integration_id",
    "rotation_algorithm",
    "source_address",
    "iprange",
    "default_customer_billing_type",
    "free_credits",
    "language",
)


def _attributes(target: Account) -> list[tuple[str, Any]]:
    return [(name, getattr(target, name)) for name in _SHOWN if getattr(target, name)]


async def outbox(c: Console, request: Request, signed: Signed) -> Response:
    status = request.query_params.get("status") or None
    status = status if status in OUTBOX_STATES else None
    before = _int(request.query_params.get("before"))
    rows = await run_in_threadpool(
        lambda: console.outbox_page(
            c.uow, root=signed.account, status=status, before_id=before, limit=PAGE + 1
        )
    )
    return c.render(
        request,
        "outbox.html",
        me=signed,
        rows=rows[:PAGE],
        chosen=status,
        states=OUTBOX_STATES,
        next_before=rows[PAGE - 1].id if len(rows) > PAGE else None,
    )


async def audit_log(c: Console, request: Request, signed: Signed) -> Response:
    action = request.query_params.get("action", "").strip()[:64] or None
    target = _int(request.query_params.get("account"))
    before = _int(request.query_params.get("before"))
    rows = await run_in_threadpool(
        lambda: console.audit_page(
            c.uow,
            root=signed.account,
            action=action,
            target_id=target,
            before_id=before,
            limit=PAGE + 1,
        )
    )
    return c.render(
        request,
        "audit.html",
        me=signed,
        rows=rows[:PAGE],
        action=action or "",
        account=target or "",
        next_before=rows[PAGE - 1].id if len(rows) > PAGE else None,
    )


def account_context(
    c: Console, signed: Signed, request: Request, **extra: Any
) -> dict[str, Any] | None:
    return _account_context(c, signed, request, **extra)
