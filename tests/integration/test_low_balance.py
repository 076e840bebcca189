"""Low-balance alerts: one message (SMS, webhook or e-mail) per downward crossing of the
threshold, whatever change crosses it (a charge, the CLI, a transfer), and none again until
the value went back up."""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import re
import socketserver
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from typing import ClassVar

import pytest
from sqlalchemy import Engine

from smsaccounts.config import SettingError, Settings
from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.models import Account, Asset, BillingType
from smsaccounts.errors import InvalidField
from smsaccounts.services import accounts, charging, low_balance, outbox, wallet
from smsaccounts.services.charging import Message
from smsaccounts.storage.unit_of_work import UnitOfWork
from smsaccounts.transports import LogTransport, SmtpTransport, make_channels
from tests import factories
from tests.conftest import make_uow

CONTACT = "+436761234567"


def _alerts(uow: UnitOfWork) -> list[str]:
    with uow.read() as tx:
        return [m.text for m in tx.outbox.messages() if m.purpose == low_balance.PURPOSE]


def _pool(uow: UnitOfWork, credits: int, **settings: object) -> Account:
    reseller = factories.reseller(uow)
    customer = factories.customer(uow, parent=reseller, billing_type=BillingType.PRE_PAID)
    if credits:
        wallet.credit(uow, account_id=customer.id, asset=Asset.CREDITS, amount=credits,
                      reason="t")  # fmt: skip
    accounts.update(uow, actor=reseller, account_id=customer.id, changes=settings)
    return customer


def test_the_alert_fires_once_per_downward_crossing(uow: UnitOfWork) -> None:
    pool = _pool(uow, 10, low_balance_threshold=5, low_balance_contact=CONTACT)
    sender = factories.user(uow, parent=pool, funding="parent")
    for i, (n, expected) in enumerate(((3, 0), (2, 0), (1, 1), (1, 1))):  # 7, 5, 4 (crosses), 3
        charging.charge(uow, caller=sender, account=sender, reference=f"r{i}",
                        message=Message(recipients=["4520123456"], parts=n))  # fmt: skip
        assert len(_alerts(uow)) == expected
    wallet.credit(uow, account_id=pool.id, asset=Asset.CREDITS, amount=5, reason="top-up")  # 8
    wallet.debit(uow, account_id=pool.id, asset=Asset.CREDITS, amount=6, reason="t")  # 2
    texts = _alerts(uow)
    assert len(texts) == 2
    with uow.read() as tx:
        assert {m.to_msisdn for m in tx.outbox.messages()} == {"436761234567"}
    assert "has 4 credits left, below the 5" in texts[0]


def test_money_thresholds_and_no_alert_without_a_contact(uow: UnitOfWork) -> None:
    pool = _pool(uow, 0, low_balance_asset="balance", low_balance_threshold=10_000_000,
                 low_balance_contact=CONTACT)  # fmt: skip
    wallet.credit(uow, account_id=pool.id, asset=Asset.BALANCE, amount=20_000_000, reason="t")
    wallet.debit(uow, account_id=pool.id, asset=Asset.BALANCE, amount=15_000_000, reason="t")
    assert _alerts(uow) == [f"Low balance: {pool.name} has 0.50 balance left, below the 1.00 "
                            "you set."]  # fmt: skip
    quiet = _pool(uow, 10, low_balance_threshold=5)
    wallet.debit(uow, account_id=quiet.id, asset=Asset.CREDITS, amount=9, reason="t")
    assert len(_alerts(uow)) == 1


def _settings_of(uow: UnitOfWork, account: Account) -> tuple[object, ...]:
    with uow.read() as tx:
        found = tx.accounts.get(account.id)
    assert found is not None
    return found.low_balance_asset, found.low_balance_threshold, found.low_balance_contact


@pytest.mark.parametrize(
    ("contact", "says"),
    [
        ("+4512", "msisdn"),
        ("not a contact", "msisdn in international form, an http(s) URL or an e-mail"),
        ("ftp://hooks.example/low", "msisdn in international form, an http(s) URL"),
        ("https://", "not a valid http(s) URL"),
        ("https://hooks.example:99999/low", "invalid port"),
        ("https://hooks.example/a b", "not a valid http(s) URL"),
        ("ops@@example.com", "not a valid e-mail address"),
        ("ops@localhost", "not a valid e-mail address"),
        ("https://hooks.example/" + "x" * 250, "longer than 255"),
    ],
)
def test_an_invalid_contact_is_refused_by_name_and_changes_nothing(
    uow: UnitOfWork, settings: Settings, engine: Engine, clock: FakeClock, contact: str, says: str
) -> None:
    uow = make_uow(settings.replace(**SMTP), engine, clock)
    pool = _pool(uow, 1, low_balance_threshold=5, low_balance_contact=CONTACT)
    reseller = accounts.get(uow, actor=pool, account_id=pool.id)
    before = _settings_of(uow, pool)
    with pytest.raises(InvalidField, match=re.escape(says)) as error:
        accounts.update(uow, actor=reseller, account_id=pool.id,
                        changes={"low_balance_contact": contact,
                                 "low_balance_threshold": 9})  # fmt: skip
    assert error.value.field == "low_balance_contact"
    assert _settings_of(uow, pool) == before


def test_an_email_contact_needs_smtp_and_the_error_names_the_setting(uow: UnitOfWork) -> None:
    pool = _pool(uow, 1)
    reseller = accounts.get(uow, actor=pool, account_id=pool.id)
    with pytest.raises(InvalidField, match="SMSACCOUNTS_SMTP_URL is not set"):
        accounts.update(uow, actor=reseller, account_id=pool.id,
                        changes={"low_balance_contact": "ops@example.com"})  # fmt: skip
    assert _settings_of(uow, pool)[2] == ""


@pytest.fixture
def hook() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """A webhook receiver on loopback: records each POST's path, content type and body."""
    calls: list[tuple[str, str, bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            calls.append((self.path, self.headers.get("Content-Type", ""), self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/low", calls
    server.shutdown()
    server.server_close()


def test_a_webhook_alert_is_posted_once_per_downward_crossing(
    uow: UnitOfWork, hook: tuple[str, list[tuple[str, str, bytes]]]
) -> None:
    url, calls = hook
    pool = _pool(uow, 10, low_balance_threshold=5, low_balance_contact=url)
    channels = make_channels(uow.settings.replace(webhook_private_addresses=True))  # loopback
    for amount in (3, 3, 1):  # 7, 4 (crosses), 3
        wallet.debit(uow, account_id=pool.id, asset=Asset.CREDITS, amount=amount, reason="t")
        outbox.deliver_due(uow, LogTransport(), channels=channels)
    wallet.credit(uow, account_id=pool.id, asset=Asset.CREDITS, amount=5, reason="top-up")  # 8
    wallet.debit(uow, account_id=pool.id, asset=Asset.CREDITS, amount=7, reason="t")  # 1
    assert outbox.deliver_due(uow, LogTransport(), channels=channels) == 1
    assert outbox.deliver_due(uow, LogTransport(), channels=channels) == 0
    assert [(path, kind) for path, kind, _ in calls] == [("/hooks/low", "application/json")] * 2
    documents = [json.loads(body) for _, _, body in calls]
    assert documents == [
        {"account_id": pool.id, "name": pool.name, "asset": "credits", "value": "4",
         "threshold": "5"},
        {"account_id": pool.id, "name": pool.name, "asset": "credits", "value": "1",
         "threshold": "5"},
    ]  # fmt: skip
    messages = outbox.list_messages(uow)
    assert {(m.channel, m.to, m.to_msisdn, m.status) for m in messages} == {
        ("webhook", url, "", "sent")
    }
    assert all(m.body is None for m in messages)


def test_a_failing_webhook_is_retried_with_backoff(uow: UnitOfWork, clock: FakeClock) -> None:
    pool = _pool(uow, 10, low_balance_threshold=5, low_balance_contact="http://127.0.0.1:9/x")
    wallet.debit(uow, account_id=pool.id, asset=Asset.CREDITS, amount=6, reason="t")
    loopback = make_channels(uow.settings.replace(webhook_private_addresses=True))
    assert outbox.deliver_due(uow, LogTransport(), channels=loopback) == 0
    (message,) = outbox.list_messages(uow)
    assert (message.status, message.attempts) == ("queued", 1)
    assert "webhook request failed" in (message.last_error or "")
    assert message.next_attempt_at > clock.now()


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/x", "http://localhost/x", "http://10.1.2.3/x",
            "http://169.254.169.254/latest/meta-data", "http://[::1]/x"],
)  # fmt: skip
def test_a_webhook_to_an_address_inside_the_network_is_never_called(
    uow: UnitOfWork, hook: tuple[str, list[tuple[str, str, bytes]]], url: str
) -> None:
    """SSRF: a tenant's contact cannot make the server call a loopback, private or metadata
    address unless SMSACCOUNTS_WEBHOOK_PRIVATE_ADDRESSES says so."""
    local, calls = hook
    for contact in (url, local):
        pool = _pool(uow, 10, low_balance_threshold=5, low_balance_contact=contact)
        wallet.debit(uow, account_id=pool.id, asset=Asset.CREDITS, amount=6, reason="t")
    assert outbox.deliver_due(uow, LogTransport(), channels=make_channels(uow.settings)) == 0
    assert calls == []
    errors = {m.last_error for m in outbox.list_messages(uow)}
    assert errors == {"ConnectionError: webhook host is not a public address"}


class FakeSmtp:
    """Stands in for smtplib.SMTP: records where it connected and what it was given."""

    sent: ClassVar[list[tuple[str, int, EmailMessage]]] = []

    def __init__(self, host: str, port: int, *, timeout: float) -> None:
        del timeout
        self.host, self.port = host, port

    def __enter__(self) -> FakeSmtp:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def login(self, *credentials: str) -> None:
        raise AssertionError(f"no credentials were configured, got {len(credentials)}")

    def send_message(self, message: EmailMessage) -> None:
        FakeSmtp.sent.append((self.host, self.port, message))


SMTP = {"smtp_url": "smtp://127.0.0.1:18325", "smtp_from": "alerts@example.com"}


def test_an_email_alert_is_sent_through_smtp(
    settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    uow = make_uow(settings.replace(**SMTP), engine, clock)
    pool = _pool(uow, 0, low_balance_asset="balance", low_balance_threshold=10_000_000,
                 low_balance_contact=" Ops@Example.com ")  # fmt: skip
    assert _settings_of(uow, pool)[2] == "Ops@example.com"  # the domain part normalised
    wallet.credit(uow, account_id=pool.id, asset=Asset.BALANCE, amount=20_000_000, reason="t")
    wallet.debit(uow, account_id=pool.id, asset=Asset.BALANCE, amount=15_000_000, reason="t")
    FakeSmtp.sent.clear()
    email = SmtpTransport(uow.settings.smtp_url, uow.settings.smtp_from, connect=FakeSmtp)
    assert outbox.deliver_due(uow, LogTransport(), channels={"email": email}) == 1
    assert outbox.deliver_due(uow, LogTransport(), channels={"email": email}) == 0
    ((host, port, message),) = FakeSmtp.sent
    assert (host, port) == ("127.0.0.1", 18325)
    assert (message["From"], message["To"]) == ("alerts@example.com", "Ops@example.com")
    assert message["Subject"] == "Low-balance alert"
    assert message.get_content().strip() == (
        f"Low balance: {pool.name} has 0.50 balance left, below the 1.00 you set."
    )
    ((channel, to),) = {(m.channel, m.to) for m in outbox.list_messages(uow)}
    assert (channel, to) == ("email", "Ops@example.com")


@pytest.fixture
def smtp_sink() -> Iterator[tuple[int, list[bytes]]]:
    """A minimal SMTP server on loopback: answers every command with 250 and keeps each
    message's envelope lines and data."""
    received: list[bytes] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"220 sink\r\n")
            data: list[bytes] | None = None
            while line := self.rfile.readline():
                if data is not None:
                    if line == b".\r\n":
                        received.append(b"".join(data))
                        data = None
                        self.wfile.write(b"250 kept\r\n")
                    else:
                        data.append(line)
                elif line[:4].upper() == b"DATA":
                    data = []
                    self.wfile.write(b"354 go on\r\n")
                elif line[:4].upper() == b"QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:
                    received.append(line.strip())
                    self.wfile.write(b"250 ok\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], received
    server.shutdown()
    server.server_close()


def test_an_email_alert_reaches_an_smtp_server_through_the_worker(
    settings: Settings, engine: Engine, clock: FakeClock, smtp_sink: tuple[int, list[bytes]]
) -> None:
    port, received = smtp_sink
    uow = make_uow(settings.replace(smtp_url=f"smtp://127.0.0.1:{port}",
                                    smtp_from="alerts@example.com"), engine, clock)  # fmt: skip
    pool = _pool(uow, 10, low_balance_threshold=5, low_balance_contact="ops@example.com")
    wallet.debit(uow, account_id=pool.id, asset=Asset.CREDITS, amount=6, reason="t")
    assert outbox.deliver_due(uow, LogTransport()) == 0  # no e-mail transport given: retried
    (waiting,) = outbox.list_messages(uow)
    assert (waiting.status, waiting.last_error) == (
        "queued",
        "LookupError: no transport for email (is it configured?)",
    )
    clock.advance(seconds=3600)
    assert outbox.deliver_due(uow, LogTransport(), channels=make_channels(uow.settings)) == 1
    envelope, data = received[:-1], received[-1]
    assert b"mail from:<alerts@example.com>" in [line.lower() for line in envelope]
    assert b"rcpt to:<ops@example.com>" in [line.lower() for line in envelope]
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert (message["To"], message["Subject"]) == ("ops@example.com", "Low-balance alert")
    assert f"{pool.name} has 4 credits left, below the 5" in str(message.get_body())


def test_smtp_settings_are_checked_by_name() -> None:
    with pytest.raises(SettingError, match="SMSACCOUNTS_SMTP_URL"):
        Settings(smtp_url="http://mail.example:25", smtp_from="a@example.com").checked()
    with pytest.raises(SettingError, match="SMSACCOUNTS_SMTP_FROM"):
        Settings(smtp_url="smtp://mail.example:25").checked()
    assert set(make_channels(Settings())) == {"webhook"}
    assert set(make_channels(Settings().replace(**SMTP))) == {"webhook", "email"}
