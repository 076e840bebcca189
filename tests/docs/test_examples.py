"""Every curl example in docs/ is run against the app and answers as the page shows it, so
the reference cannot drift from the code; and every operation has an example.

Each page runs, in its order, on a fresh database holding the installation the pages
describe (docs/README.md, "The examples"): the same names, keys, token and ids.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from smsaccounts import openapi
from smsaccounts.domain import credentials
from smsaccounts.domain.models import Asset, BillingType
from smsaccounts.domain.tree import ADMIN_ID, Kind
from smsaccounts.services import accounts, auth, wallet
from smsaccounts.storage.unit_of_work import UnitOfWork

from .curl import BASE, Example, differences, examples, parse_curl

DOCS = Path(__file__).parents[2] / "docs"
README = Path(__file__).parents[2] / "README.md"
PAGES = sorted(path.name for path in DOCS.glob("*.md"))

# The installation of docs/README.md, "The examples".
MOR_SECRET, ADMIN_PASSWORD = "456789", "admin-pw"
CLIENT_KEY, ALICE_KEY, ALICE_TOKEN = "sak_example-client-key", "sak_example-alice-key", (
    "sat_example-alice-token")  # fmt: skip
BOB_TOKEN = "sat_example-bob-token"
GATEWAY_KEY = "sak_example-gateway-key"
SHOP_OBJECT_ID, ALICE_OBJECT_ID = "5a4e96a030046095c7ef280f", "5a4e96a030046095c7ef2810"
PIN = "123456"  # the PIN the examples' verification SMS carries


def build_installation(uow: UnitOfWork) -> None:
    """admin (1), reseller acme (2), its customer shop (3), shop's users alice (4), bob (5)."""
    auth.set_mor_secret(uow, account_id=ADMIN_ID, secret=MOR_SECRET)
    accounts.update(uow, actor=_admin(uow), account_id=ADMIN_ID, changes={},
                    password=ADMIN_PASSWORD)  # fmt: skip
    acme = accounts.create(uow, kind=Kind.RESELLER, name="acme", parent_id=ADMIN_ID,
                           password="reseller-pw", billing_type=BillingType.PRE_PAID,
                           default_customer_billing_type="PRE_PAID", free_credits=10)  # fmt: skip
    wallet.credit(uow, account_id=acme.id, asset=Asset.CREDITS, amount=1000, reason="operator")
    shop = accounts.create(uow, kind=Kind.CUSTOMER, name="shop", parent_id=acme.id,
                           billing_type=BillingType.PRE_PAID)  # fmt: skip
    alice = accounts.create(uow, kind=Kind.USER, name="alice", parent_id=shop.id,
                            password="alice-pw", msisdn="436761234567", country="AT",
                            acl_admin=True, acl_hlr=True, first_name="Alice",
                            surname="Example", company="Shop Ltd")  # fmt: skip
    wallet.credit(uow, account_id=alice.id, asset=Asset.CREDITS, amount=42, reason="operator")
    bob = accounts.create(uow, kind=Kind.USER, name="bob", parent_id=shop.id, password="bob-pw",
                          msisdn="436761234569", country="AT")  # fmt: skip
    with uow.write() as tx:
        tx.accounts.update(shop.id, {"object_id": SHOP_OBJECT_ID})
        tx.accounts.update(alice.id, {"object_id": ALICE_OBJECT_ID})
        for owner, key, purpose, rights in ((shop, CLIENT_KEY, "client", "user.create user.delete"),
                                            (alice, ALICE_KEY, "user", "")):  # fmt: skip
            tx.credentials.add_key(account_id=owner.id, name=purpose, purpose=purpose,
                                   key_hash=credentials.secret_hash(key), rights=rights,
                                   allowed_ips="", now=tx.now)  # fmt: skip
        tx.credentials.add_token(alice.id, credentials.secret_hash(ALICE_TOKEN), tx.now)
        tx.credentials.add_token(bob.id, credentials.secret_hash(BOB_TOKEN), tx.now)
        tx.credentials.add_key(account_id=ADMIN_ID, name="jasmin", purpose="gateway",
                               key_hash=credentials.secret_hash(GATEWAY_KEY), rights="",
                               allowed_ips="", now=tx.now)  # fmt: skip


def _admin(uow: UnitOfWork) -> Any:
    with uow.read() as tx:
        return tx.accounts.get(ADMIN_ID)


def run(http: TestClient, example: Example) -> list[str]:
    """What is wrong with the example's answer (nothing: it answers as shown)."""
    request = example.request
    response = http.request(request.method, request.path, headers=request.headers,
                            content=request.body or None)  # fmt: skip
    where = f"{example.page}:{example.line}"
    problems = []
    if response.status_code != example.status:
        problems.append(f"{where}: HTTP {response.status_code}, shown {example.status}")
    for name, value in example.headers.items():
        if response.headers.get(name) != value:
            problems.append(f"{where}: {name}: {response.headers.get(name)!r}, shown {value!r}")
    media = response.headers.get("content-type", "")
    if example.media not in media:
        problems.append(f"{where}: content-type {media}, shown {example.media}")
    return problems + [f"{where}: {d}" for d in differences(example.media, example.answer,
                                                              response.content)]  # fmt: skip


@pytest.mark.parametrize("page", PAGES)
def test_every_example_answers_as_the_page_shows(
    page: str, uow: UnitOfWork, make_http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(credentials, "new_pin", lambda: PIN)
    build_installation(uow)
    http: TestClient = make_http()
    http.headers.clear()  # only what the curl line sends
    problems = [p for example in examples(page, (DOCS / page).read_text())
                for p in run(http, example)]  # fmt: skip
    assert problems == []


def _operation_key(method: str, path: str) -> str:
    """One operation, whatever mount, format, id or (MOR GET) function it is called with."""
    path = re.sub(r"^/(rest|json|xml)/(user|remote)/", r"/*/\2/", path.split("?")[0])
    path = re.sub(r"^/(rest|json|xml|\{mount\})/(user|remote)/", r"/*/\2/", path)
    path = re.sub(r"\.(json|xml|\{fmt\})$", ".*", path)
    path = re.sub(r"/v2/user/(\d+|\{id\})([./])", r"/v2/user/*\2", path)
    if method == "GET" and path.startswith("/billing/api/"):
        path = "/billing/api/*"
    return f"{method} {path}"


def test_every_operation_of_every_dialect_has_an_example() -> None:
    shown = {_operation_key(e.request.method, e.request.path)
             for page in PAGES for e in examples(page, (DOCS / page).read_text())}  # fmt: skip
    operations = {_operation_key(op.method, op.path) for _, op in openapi.dialect_operations()}
    assert operations - shown == set()


def test_the_docs_link_nothing_outside_the_repository_and_the_readme_links_them() -> None:
    for page in [*PAGES, "../README.md"]:
        text = (DOCS / page).read_text()
        hosts = re.findall(r"https?://([^/:\s)`'\"]+)", text)
        # Loopback, and the `.example` names reserved for documentation (a push URL's value).
        outside = [h for h in hosts if h not in ("127.0.0.1", "localhost")]
        assert [h for h in outside if not h.endswith(".example")] == [], page
        assert "../shared" not in text, page
    readme = README.read_text()
    for page in PAGES:
        assert f"(docs/{page})" in readme, page


def test_a_wrong_answer_or_status_is_reported() -> None:
    """The comparison can fail: a key, a value, an element or a status that differ."""
    assert differences("json", '{"status":0,"credits":5}', b'{"status":0,"credits":6}')
    assert differences("json", '{"status":0}', b'{"status":0,"credits":6}')
    assert differences("json", '{"id":"…"}', b'{"id":5}')
    assert not differences("json", '{"id":"sat_…","n":[1]}', b'{"id":"sat_x1","n":[1]}')
    assert differences("xml", "<page><error>x</error></page>", b"<error>x</error>")
    assert differences("xml", "<a><b>1</b></a>", b"<a><b>2</b></a>")
    assert not differences("xml", "<a>\n  <b>…</b>\n</a>", b"<a><b>2</b></a>")
    [example] = examples("t.md", "```sh\ncurl -X PUT " + BASE + "/x\n```\n\n```json\n"
                         "HTTP/1.1 405 Method Not Allowed\nAllow: GET\n\n{}\n```\n")  # fmt: skip
    assert (example.status, example.headers, example.request.method) == (405, {"allow": "GET"},
                                                                          "PUT")  # fmt: skip
    with pytest.raises(ValueError, match="answer block"):
        examples("t.md", "```sh\ncurl " + BASE + "/x\n```\n")


def test_curl_lines_are_read_as_curl_sends_them() -> None:
    form = parse_curl(f"curl -d a=1 -d 'b=two words' {BASE}/p")
    assert (form.method, form.body, form.headers["Content-Type"]) == (
        "POST", b"a=1&b=two words", "application/x-www-form-urlencoded")  # fmt: skip
    query = parse_curl(f"curl -G --data-urlencode 'b=two words' '{BASE}/p?a=1'")
    assert (query.method, query.path, query.body) == ("GET", "/p?a=1&b=two+words", b"")
