"""Every scenario: which server it drives, the requests it spreads, what a good answer is.

Requests follow /work/shared/spec/CONTRACT.md; credentials come from `bench.layout`, so the
request tables are rebuilt from ids without reading the database.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

from bench import layout, peer_jasmin
from bench.wrk import Request

MAX_REQUESTS = 20_000  # distinct requests per table: 20,000 users, tokens, hashes
DEBIT = "-0.01"
BARE_DEBIT_AMOUNT = "-0.02"

# Lua patterns a good answer's body matches.
MYSMS_JSON_OK = '"errorCode"%s*:%s*0[,}%s]'
MYSMS_XML_OK = "<errorCode>0</errorCode>"

# Servers a scenario can drive.
BARE, BARE_1W, FASTAPI, SERVICE, SERVICE_1W, SERVICE_1M, IN_PROCESS = (
    "bare", "bare-1-worker", "fastapi", "service", "service-1-worker", "service-1m",
    "in-process")  # fmt: skip
# A third database where the LINK root has 1,000,000 accounts below it.
SERVICE_1M_BELOW = "service-1m-below"
BARE_DEBIT = "bare-debit"  # baseline (d)
# --peer: each server on CPU 0 and wrk on CPU 1, three rounds side by side, the median kept.
PINNED = "pinned"
# Run only with --workers > 1: the 1-worker side of the workers figure.
ONE_WORKER = frozenset({"bare_balance_1w", "mysms_balance_json_1w"})


@dataclasses.dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    server: str
    what: str
    check: str
    requests: Callable[[layout.Layout], Iterator[Request]]
    writes: bool = False  # runs after the read-only scenarios on the same server
    # argon2-bound: 32 connections need a few waves of ~30 ms verifies to say anything.
    min_seconds: int = 0
    # Every distinct request sent once before wrk starts: a scenario of repeated correct
    # passwords then measures the verified-credential cache, not its first verifies.
    warm: bool = False


def _sample(lay: layout.Layout, seed: int) -> list[int]:
    """Regular user ids, a deterministic spread of at most MAX_REQUESTS of them."""
    n = lay.regular_users
    picks = random.Random(seed).sample(range(n), min(n, MAX_REQUESTS))
    return [lay.regular_user_id(j) for j in picks]


def _balance_json(lay: layout.Layout) -> Iterator[Request]:
    for uid in _sample(lay, 1):
        body = {
            "apiKey": layout.client_key(lay.customer_of_user_id(uid)),
            "authToken": layout.auth_token(uid),
        }
        yield Request("POST", "/json/user/balance/get", "application/json", _json(body))


def _balance_xml(lay: layout.Layout) -> Iterator[Request]:
    for uid in _sample(lay, 2):
        key, token = layout.client_key(lay.customer_of_user_id(uid)), layout.auth_token(uid)
        body = (f"<userGetBalanceRequest><apiKey>{key}</apiKey><authToken>{token}</authToken>"
                "</userGetBalanceRequest>")  # fmt: skip
        yield Request("POST", "/xml/user/balance/get", "application/xml", body)


def _login(lay: layout.Layout) -> Iterator[Request]:
    for uid in _sample(lay, 3):
        body = {"apiKey": layout.client_key(lay.customer_of_user_id(uid)),
                "msisdn": int(layout.msisdn(uid)), "password": layout.PASSWORD}  # fmt: skip
        yield Request("POST", "/json/user/login", "application/json", _json(body))


def _link_users(lay: layout.Layout) -> Iterator[Request]:
    yield Request("GET", "/v2/users.json?" + urlencode({"apikey": layout.user_key(lay.link_root)}))


def _mor_details(lay: layout.Layout) -> Iterator[Request]:
    for uid in _sample(lay, 4):
        query = {"u": "admin", "user_id": uid, "hash": _sha1(f"{uid}{layout.MOR_SECRET}")}
        yield Request("POST", "/billing/api/user_details_get?" + urlencode(query))


def _mor_debits(lay: layout.Layout) -> Iterator[Request]:
    for uid in lay.debit_ids():
        query = {"u": "admin", "user_id": uid, "balance": DEBIT,
                 "hash": _sha1(f"{uid}{DEBIT}{layout.MOR_SECRET}")}  # fmt: skip
        yield Request("POST", "/billing/api/user_balance_update?" + urlencode(query))


def _bare_debits(lay: layout.Layout) -> Iterator[Request]:
    """mor_debit's requests with another amount, so the ledger check of mor_debit (which
    counts the -0.01 entries) sees only the service's."""
    for uid in lay.debit_ids():
        query = {"u": "admin", "user_id": uid, "balance": BARE_DEBIT_AMOUNT,
                 "hash": _sha1(f"{uid}{BARE_DEBIT_AMOUNT}{layout.MOR_SECRET}")}  # fmt: skip
        yield Request("POST", "/billing/api/user_balance_update?" + urlencode(query))


def _reseller_balance(lay: layout.Layout) -> Iterator[Request]:
    for c in range(lay.customers):
        form = {"reseller": f"bench-reseller-{lay.customer_reseller(c)}",
                "password": layout.PASSWORD,
                "customerId": layout.object_id(lay.customer_id(c))}  # fmt: skip
        yield Request("POST", "/services/rest/admin/balance",
                      "application/x-www-form-urlencoded", urlencode(form))  # fmt: skip


def _charges(lay: layout.Layout) -> Iterator[Request]:
    """One part to one number per request, over the well-funded users; `{seq}` makes every
    request's reference new (bench/lua/spread.lua), so none is a replay."""
    for uid in lay.debit_ids():
        body = {"reference": "bench-{seq}", "account_id": uid,
                "recipients": [layout.msisdn(uid)], "parts": 1}  # fmt: skip
        yield Request(
            "POST",
            "/charging/v1/charge",
            "application/json",
            _json(body),
            f"Bearer {layout.gateway_key()}",
        )


def _jasmin_balance(_lay: layout.Layout) -> Iterator[Request]:
    """Jasmin's one user (bench/peer_jasmin.py): it keeps its users in a list it scans."""
    yield Request("GET", "/balance?" + urlencode({"username": peer_jasmin.USERNAME,
                                                   "password": peer_jasmin.PASSWORD}))  # fmt: skip


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - MOR's wire hash is SHA1


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("bare_balance", BARE, "baseline (a): bare ASGI + 2 indexed queries",
             MYSMS_JSON_OK, _balance_json),
    Scenario("fastapi_balance", FASTAPI, "baseline (b): FastAPI + SQLAlchemy async ORM",
             MYSMS_JSON_OK, _balance_json),
    Scenario("argon2_verify", IN_PROCESS, "baseline (c): argon2id verify, in-process",
             "", _balance_json),
    Scenario("mysms_balance_json", SERVICE, "mysms /json/user/balance/get",
             MYSMS_JSON_OK, _balance_json),
    Scenario("mysms_balance_xml", SERVICE, "mysms /xml/user/balance/get (XML in and out)",
             MYSMS_XML_OK, _balance_xml),
    Scenario("link_users", SERVICE, "LINK /v2/users.json first page, 10k below",
             '"status"%s*:%s*200', _link_users),
    Scenario("mor_user_details", SERVICE, "MOR /billing/api/user_details_get",
             "<pagename>", _mor_details),  # errors come inside <page> too
    Scenario("reseller_balance", SERVICE, "reseller /services/rest/admin/balance",
             '"status"%s*:%s*0[,}%s]', _reseller_balance, min_seconds=6, warm=True),
    Scenario("mysms_login", SERVICE, "mysms /json/user/login (argon2id)",
             MYSMS_JSON_OK, _login, writes=True, min_seconds=6),
    Scenario("mor_debit", SERVICE, "MOR user_balance_update -0.01, concurrent",
             "User balance updated", _mor_debits, writes=True),
    Scenario("bare_debit", BARE_DEBIT, "baseline (d): bare ASGI UPDATE + ledger INSERT",
             "User balance updated", _bare_debits, writes=True),
    Scenario("charge", SERVICE, "charging /charging/v1/charge, 1 part, concurrent",
             '"charged_parts"', _charges, writes=True),
    Scenario("bare_balance_1w", BARE_1W, "baseline (a) with 1 worker",
             MYSMS_JSON_OK, _balance_json),
    Scenario("mysms_balance_json_1w", SERVICE_1W, "mysms balance/get JSON, 1 worker",
             MYSMS_JSON_OK, _balance_json),
    Scenario("link_users_1m", SERVICE_1M, "LINK users.json first page, 1M accounts",
             '"status"%s*:%s*200', _link_users),
    Scenario("link_users_1m_below", SERVICE_1M_BELOW,
             "LINK users.json first page, 1M accounts below the caller",
             '"status"%s*:%s*200', _link_users),
)  # fmt: skip
BY_NAME = {s.name: s for s in SCENARIOS}
# Added by --peer jasmin (after every scenario above), run by Runner.pinned.
PEER_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("bare_balance_pinned", PINNED, "baseline (a), pinned, median of 3",
             MYSMS_JSON_OK, _balance_json),
    Scenario("mysms_balance_json_pinned", PINNED, "mysms balance/get JSON, pinned, median of 3",
             MYSMS_JSON_OK, _balance_json),
    Scenario("jasmin_balance", PINNED, f"peer: Jasmin {peer_jasmin.VERSION} GET /balance, "
             "pinned, median of 3", '"balance"%s*:', _jasmin_balance),
)  # fmt: skip
