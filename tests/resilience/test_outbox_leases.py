"""Each SMS goes out exactly once while `smsaccounts serve` workers are killed (SIGKILL)
and stopped (SIGTERM) in the middle of a delivery, restarted, and run side by side.

The SMS gateway is a local HTTP server that counts what it accepts. It holds a request
when told to: a worker killed while its request is held leaves a claim behind, and the
gateway sees the connection close unanswered, so it accepts nothing (as a gateway takes a
message only when it answers). The claim runs out (SMSACCOUNTS_OUTBOX_LEASE_SECONDS) and
another worker sends that SMS. A worker stopped with SIGTERM while its request is held
answers the requests in flight, finishes that SMS and marks it before it exits."""

from __future__ import annotations

import http.server
import select
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from smsaccounts.domain.outbox import SENT
from smsaccounts.services import outbox
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests.servers import Serve, free_port

MESSAGES = 40
ROUNDS = 2
LEASE_SECONDS = 2
HANG_GUARD = 180.0  # a guard against a hang, not a speed test


class Gateway:
    """Counts accepted SMS by text; `hold_next()` holds the next request until `release()`."""

    def __init__(self) -> None:
        self.accepted: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.holding = False
        self.held = threading.Event()  # a request is being held
        self.released = threading.Event()
        self.abandoned = threading.Event()  # a held request's client went away
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                text = parse_qs(urlparse(self.path).query)["text"][0]
                if gateway.take_hold() and not gateway.wait_release(self.connection):
                    gateway.abandoned.set()
                    self.close_connection = True
                    return  # the client is gone: nothing accepted, nothing answered
                with gateway.lock:
                    gateway.accepted[text] += 1
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def hold_next(self) -> None:
        with self.lock:
            self.holding = True
            self.held.clear()
            self.released.clear()
            self.abandoned.clear()

    def take_hold(self) -> bool:
        with self.lock:
            if not self.holding:
                return False
            self.holding = False
        self.held.set()
        return True

    def wait_release(self, conn: socket.socket) -> bool:
        """Hold until released; False if the client closed its connection meanwhile."""
        while not self.released.wait(0.02):
            if _closed(conn):
                return False
        return not _closed(conn)

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


def _closed(conn: socket.socket) -> bool:
    readable, _, _ = select.select([conn], [], [], 0)
    return bool(readable) and conn.recv(1, socket.MSG_PEEK) == b""


def _wait(event: threading.Event, what: str, server: Serve | None = None) -> None:
    assert event.wait(HANG_GUARD), f"timed out waiting for {what}: {server and server.tail()}"


def _until(condition: object, what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    g = Gateway()
    yield g
    g.close()


def _in_flight_request(server: Serve) -> tuple[socket.socket, bytes]:
    """A request whose body is half sent: in flight until the rest (returned) is sent."""
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    body = b'{"apiKey": "sak_x", "authToken": "sat_x"}'
    conn.sendall(
        b"POST /json/user/balance/get HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body[:10]
    )
    return conn, body[10:]


def test_each_sms_goes_out_once_across_kills_stops_and_restarts(
    db_url: str, uow: UnitOfWork, gateway: Gateway, tmp_path: Path
) -> None:
    texts = [f"sms {n:03d}" for n in range(MESSAGES)]
    for text in texts:
        with uow.write() as tx:
            outbox.queue(tx, to_msisdn="436761234567", text=text, purpose="test", account_id=None)
    env = {
        "SMSACCOUNTS_DATABASE_URL": db_url,
        "SMSACCOUNTS_SMS_TRANSPORT": "http",
        "SMSACCOUNTS_SMS_HTTP_URL": f"http://127.0.0.1:{gateway.port}/send?to={{to}}&text={{text}}",
        "SMSACCOUNTS_OUTBOX_POLL_SECONDS": "0.05",
        "SMSACCOUNTS_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        "SMSACCOUNTS_GRACE_SECONDS": "30",
    }
    log = tmp_path / "serve.log"
    started: list[Serve] = []

    def serve() -> Serve:
        started.append(Serve(env, log))
        return started[-1].start()

    try:
        for _ in range(ROUNDS):
            _kill_mid_delivery(gateway, serve)
            _stop_mid_delivery(gateway, serve)
        # Two workers side by side finish the rest, the killed workers' claims included.
        serve(), serve()
        _until(lambda: all(m.status == SENT for m in outbox.list_messages(uow)), "all sent")
    finally:
        for server in started:
            server.stop()
    assert set(gateway.accepted) == set(texts)
    assert [text for text, count in gateway.accepted.items() if count != 1] == []
    # Every SMS was claimed once, but those of the killed workers twice.
    assert sum(m.attempts for m in outbox.list_messages(uow)) == MESSAGES + ROUNDS


def _kill_mid_delivery(gateway: Gateway, serve: Callable[[], Serve]) -> None:
    """Killed while its request is held: its SMS stays claimed and is never accepted.

    The gateway holds before the worker starts: its outbox pass begins at startup, before
    it answers /readyz, and could send every SMS left before a hold set afterwards."""
    gateway.hold_next()
    server = serve()
    _wait(gateway.held, "a delivery to hold", server)
    server.signal(signal.SIGKILL)
    server.wait()
    _wait(gateway.abandoned, "the gateway to see the killed worker go")


def _stop_mid_delivery(gateway: Gateway, serve: Callable[[], Serve]) -> None:
    """SIGTERM while its request is held: a request in flight is still answered, and the
    SMS being sent is finished and marked before the process exits."""
    gateway.hold_next()
    server = serve()
    _wait(gateway.held, "a delivery to hold", server)
    pending, rest = _in_flight_request(server)
    with pending:
        server.signal(signal.SIGTERM)
        _until(lambda: not server.accepts(), "the stopping server to refuse connections")
        pending.sendall(rest)
        answer = pending.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    gateway.release()
    # uvicorn ends a graceful stop by raising the signal again.
    assert server.wait() in {0, -signal.SIGTERM}, server.tail()
    # The held SMS was taken while the worker lived; had it been left claimed and unmarked
    # it would go out again after its lease, which the final count would show.
    assert not gateway.abandoned.is_set()
