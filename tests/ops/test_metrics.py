"""Prometheus metrics after a scripted session: every family is there with its labels, and
each count moved by exactly what the session did (deltas: the registry is the process's)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from smsaccounts.app import create_app
from smsaccounts.config import SettingError, Settings
from smsaccounts.domain.models import BillingType
from smsaccounts.errors import InsufficientFunds
from smsaccounts.services import charging, outbox
from smsaccounts.services.charging import Message
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.integration.test_charging import AT
from tests.integration.test_charging import _pool as charging_pool
from tests.integration.test_outbox import RecordingTransport, queue_one

MSISDN = "436761234567"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(http: TestClient) -> Samples:
    answer = http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def delta(before: Samples, after: Samples) -> Callable[..., float]:
    def moved(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0.0) - before.get(key, 0.0)

    return moved


def test_metrics_count_a_scripted_session(make_http: Any, uow: UnitOfWork) -> None:
    customer = factories.customer(uow)
    key = factories.client_key(uow, customer)
    factories.user(uow, parent=customer, msisdn=MSISDN)
    http = make_http(metrics="on")
    limited = make_http(ip="10.9.9.9", metrics="on", rate_limit="2/minute")
    before = scrape(http)

    login = {"apiKey": key, "msisdn": int(MSISDN), "password": "wrong-pw"}
    for _ in range(5):  # the fifth wrong password locks the account
        assert http.post("/json/user/login", json=login).json()["errorCode"] == 101
    assert http.post("/json/user/login", json=login).json()["errorCode"] == 109
    good = {**login, "password": factories.PASSWORD}
    assert http.post("/json/user/login", json=good).json()["errorCode"] == 109
    for _ in range(3):  # two pass the limit, the third is refused
        limited.post("/json/user/balance/get", json={"apiKey": key, "authToken": "x"})
    assert http.get("/v2/ping.json").status_code in {200, 401}
    factories.reseller(uow, credits=7)  # one credit to a wallet
    queue_one(uow)
    queue_one(uow)
    outbox.deliver_due(uow, RecordingTransport(failures=1))  # one fails, one goes out

    after = scrape(http)
    moved = delta(before, after)
    count = "smsaccounts_request_duration_seconds_count"
    assert moved(count, dialect="mysms", operation="login", status="200", result="101") == 5
    assert moved(count, dialect="mysms", operation="login", status="200", result="109") == 2
    assert moved(count, dialect="mysms", operation="balance/get", status="200", result="98") == 1
    assert moved("smsaccounts_lockouts_total", door="msisdn") == 1
    assert moved("smsaccounts_rate_limited_total", scope="ip") == 1
    assert moved("smsaccounts_wallet_changes_total", asset="credits", direction="credit") == 1
    assert moved("smsaccounts_outbox_deliveries_total") == 1
    assert moved("smsaccounts_outbox_failures_total", final="false") == 1
    assert after[("smsaccounts_outbox_depth", frozenset())] == 1  # the retry still waits
    # Latency: every login is in the +Inf bucket, and took some time.
    bucket = "smsaccounts_request_duration_seconds_bucket"
    login_101 = {"dialect": "mysms", "operation": "login", "status": "200", "result": "101"}
    assert moved(bucket, **login_101, le="+Inf") == 5
    assert moved("smsaccounts_request_duration_seconds_sum", **login_101) > 0
    families = {family.name for family in text_string_to_metric_families(http.get("/metrics").text)}
    assert {
        "smsaccounts_request_duration_seconds", "smsaccounts_wallet_changes",
        "smsaccounts_lockouts", "smsaccounts_rate_limited", "smsaccounts_outbox_depth",
        "smsaccounts_outbox_deliveries", "smsaccounts_outbox_failures",
        "smsaccounts_database_errors", "smsaccounts_redis_errors",
    } <= families  # fmt: skip


def test_metrics_are_not_served_unless_switched_on(make_http: Any) -> None:
    for setting in ("off", "9100"):  # a port: `serve`'s own listener, not the API's
        assert make_http(metrics=setting).get("/metrics").status_code == 404


def test_requests_are_not_observed_while_metrics_are_off(make_http: Any) -> None:
    on, off = make_http(metrics="on"), make_http(metrics="off")
    before = scrape(on)
    off.get("/v2/ping.json")
    moved = delta(before, scrape(on))
    assert moved("smsaccounts_request_duration_seconds_count", dialect="link",
                 operation="ping", status="401", result="401") == 0  # fmt: skip


@pytest.mark.parametrize("value", ["yes", "0", "70000", "on9"])
def test_a_metrics_setting_that_is_neither_off_on_nor_a_port_is_refused(value: str) -> None:
    with pytest.raises(SettingError, match="SMSACCOUNTS_METRICS"):
        Settings.from_env({"SMSACCOUNTS_METRICS": value})


def test_the_api_port_serves_metrics_when_on(settings: Settings, uow: UnitOfWork) -> None:
    app = create_app(settings.replace(metrics="on"), uow=uow, deliver_sms=False)
    with TestClient(app) as http:
        assert "smsaccounts_outbox_depth" in http.get("/metrics").text


def test_charged_and_refunded_parts_are_counted_by_what_paid_them(uow: UnitOfWork) -> None:
    """Parts by asset after commit: free SMS first, then credits, or money at a price per
    part; a refund counts what it gave back; a replay and a refused charge count nothing."""

    def value(name: str, asset: str) -> float:
        return REGISTRY.get_sample_value(name, {"asset": asset}) or 0.0

    names = ("smsaccounts_charged_parts_total", "smsaccounts_refunded_parts_total")
    assets = ("free_sms", "credits", "balance")
    before = {(n, a): value(n, a) for n in names for a in assets}

    credit_pool = charging_pool(uow, credits=10, free_sms=1)
    sender = factories.user(uow, parent=credit_pool, funding="parent")
    four = Message(recipients=[AT], parts=4)  # 1 free SMS, 3 credits
    charging.charge(uow, caller=sender, account=sender, reference="c1", message=four)
    charging.charge(uow, caller=sender, account=sender, reference="c1", message=four)  # replay
    charging.refund(uow, caller=sender, reference="c1", parts=2)  # paid parts first: 2 credits
    money_pool = charging_pool(uow, billing=BillingType.POST_PAID)
    with uow.write() as tx:
        tx.wallets.set_terms(money_pool.id, price_per_part=500_000, credit_limit=1_000_000)
    payer = factories.user(uow, parent=money_pool, funding="parent")
    two = Message(recipients=[AT], parts=2)
    charging.charge(uow, caller=payer, account=payer, reference="m1", message=two)
    with pytest.raises(InsufficientFunds):  # past the credit limit: nothing moved
        charging.charge(uow, caller=payer, account=payer, reference="m2", message=two)
    charging.refund(uow, caller=payer, reference="m1", parts=1)

    moved = {key: value(*key) - was for key, was in before.items()}
    charged, refunded = names
    assert moved == {
        (charged, "free_sms"): 1, (charged, "credits"): 3, (charged, "balance"): 2,
        (refunded, "free_sms"): 0, (refunded, "credits"): 2, (refunded, "balance"): 1,
    }  # fmt: skip
