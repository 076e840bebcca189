"""The SMS outbox: written in the caller's transaction, delivered once, retried with backoff."""

import datetime as dt
import http.server
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest

from smsaccounts.domain.clock import FakeClock
from smsaccounts.services import outbox
from smsaccounts.storage.unit_of_work import UnitOfWork
from smsaccounts.transports import HttpTransport, LogTransport, make_transport


class RecordingTransport:
    """A transport that records what it was given and fails the first `failures` sends."""

    name = "recording"

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failures = failures

    def send(self, *, to: str, text: str, sender: str) -> None:
        del sender  # part of the Transport protocol; not recorded
        if self.failures:
            self.failures -= 1
            raise ConnectionError("gateway down")
        self.sent.append((to, text))


def queue_one(uow: UnitOfWork, text: str = "Your PIN is 123456") -> int:
    with uow.write() as tx:
        return outbox.queue(tx, to_msisdn="436761234567", text=text, purpose="pin", account_id=None)


def test_a_message_exists_only_if_its_transaction_commits(uow: UnitOfWork) -> None:
    def queue_then_fail() -> None:
        with uow.write() as tx:
            outbox.queue(tx, to_msisdn="436761234567", text="x", purpose="pin", account_id=None)
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError, match="the change failed"):
        queue_then_fail()
    assert outbox.list_messages(uow) == []


def test_due_messages_are_delivered_once(uow: UnitOfWork) -> None:
    queue_one(uow)
    transport = RecordingTransport()
    assert outbox.deliver_due(uow, transport) == 1
    assert outbox.deliver_due(uow, transport) == 0
    assert transport.sent == [("436761234567", "Your PIN is 123456")]
    [message] = outbox.list_messages(uow, to_msisdn="436761234567")
    assert (message.status, message.attempts, message.sent_at is not None) == ("sent", 1, True)


def test_a_failed_send_is_retried_after_a_growing_backoff(
    uow: UnitOfWork, clock: FakeClock
) -> None:
    queue_one(uow)
    transport = RecordingTransport(failures=2)
    assert outbox.deliver_due(uow, transport) == 0
    assert outbox.deliver_due(uow, transport) == 0  # not due yet
    clock.advance(uow.settings.outbox_backoff_seconds)
    assert outbox.deliver_due(uow, transport) == 0  # second failure, backoff doubles
    clock.advance(uow.settings.outbox_backoff_seconds)
    assert outbox.deliver_due(uow, transport) == 0
    clock.advance(uow.settings.outbox_backoff_seconds)
    assert outbox.deliver_due(uow, transport) == 1
    [message] = outbox.list_messages(uow)
    assert (message.status, message.attempts) == ("sent", 3)
    assert message.last_error is None  # cleared once delivered


def test_after_the_last_attempt_a_message_is_marked_failed(
    uow: UnitOfWork, clock: FakeClock
) -> None:
    queue_one(uow)
    transport = RecordingTransport(failures=10**6)
    for _ in range(uow.settings.outbox_max_attempts + 2):
        outbox.deliver_due(uow, transport)
        clock.advance(3600)
    [message] = outbox.list_messages(uow)
    assert (message.status, message.attempts) == ("failed", uow.settings.outbox_max_attempts)
    assert message.last_error == "ConnectionError: gateway down"


def test_a_send_claimed_by_a_crashed_worker_is_taken_again_after_its_lease(
    uow: UnitOfWork, clock: FakeClock
) -> None:
    message_id = queue_one(uow)
    lease = uow.settings.outbox_lease_seconds
    with uow.write() as tx:
        until = tx.now + dt.timedelta(seconds=lease)
        assert tx.outbox.claim(message_id, tx.now, until, worker="crashed") is not None
    transport = RecordingTransport()
    assert outbox.deliver_due(uow, transport) == 0
    clock.advance(lease - 1)
    assert outbox.deliver_due(uow, transport) == 0  # the claim still holds
    clock.advance(1)
    assert outbox.deliver_due(uow, transport, worker="next") == 1
    # The crashed worker, were it only slow, can no longer settle the message as its own.
    with uow.write() as tx:
        assert not tx.outbox.finish(message_id, worker="crashed", status="queued")
    [message] = outbox.list_messages(uow)
    assert (message.status, message.claimed_by, message.attempts) == ("sent", None, 2)


def test_a_stopping_worker_takes_no_further_message(uow: UnitOfWork) -> None:
    for _ in range(3):
        queue_one(uow)
    transport = RecordingTransport()
    asked: list[int] = []

    def stopping() -> bool:
        asked.append(1)
        return len(asked) > 1  # the stop arrives while the first message is being sent

    assert outbox.deliver_due(uow, transport, stopping=stopping) == 1
    statuses = [m.status for m in outbox.list_messages(uow)]
    assert statuses == ["sent", "queued", "queued"]


@pytest.fixture
def gateway() -> Iterator[list[dict[str, list[str]]]]:
    """A Kannel-like HTTP gateway on loopback that records each request's query."""
    calls: list[dict[str, list[str]]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            calls.append(parse_qs(urlparse(self.path).query))
            self.send_response(202 if "fail" not in self.path else 500)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    calls.append({"port": [str(server.server_address[1])]})
    yield calls
    server.shutdown()
    server.server_close()


def test_the_http_transport_fills_the_url_template(gateway: list[dict[str, list[str]]]) -> None:
    port = gateway.pop(0)["port"][0]
    template = f"http://127.0.0.1:{port}/send?to={{to}}&text={{text}}&from={{sender}}"
    HttpTransport(template).send(to="436761234567", text="Your PIN is 1 & 2", sender="me")
    assert gateway == [{"to": ["436761234567"], "text": ["Your PIN is 1 & 2"], "from": ["me"]}]
    with pytest.raises(ConnectionError) as error:
        HttpTransport(f"http://127.0.0.1:{port}/fail?t={{text}}").send(
            to="1", text="s3cr3t", sender="x"
        )
    assert "s3cr3t" not in str(error.value)


def test_transports_are_chosen_by_setting(uow: UnitOfWork) -> None:
    assert isinstance(make_transport(uow.settings), LogTransport)
    http = make_transport(
        uow.settings.replace(sms_transport="http", sms_http_url="http://127.0.0.1:1/s?to={to}")
    )
    assert isinstance(http, HttpTransport)
    with pytest.raises(ValueError, match="unknown SMSACCOUNTS_SMS_TRANSPORT 'carrier-pigeon'"):
        make_transport(uow.settings.replace(sms_transport="carrier-pigeon"))
