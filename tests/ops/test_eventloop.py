"""The serving loop (smsaccounts/eventloop.py) accepts every waiting connection in one turn,
stops accepting when closed, and rests its listening socket when out of descriptors."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable
from typing import Any

import pytest
import structlog

from smsaccounts import eventloop

CLIENTS = 20
TURNS = 6  # libuv's own accept takes one connection a turn: 6 turns, at most 6 of 20


class Counting(asyncio.Protocol):
    def __init__(self, made: list[asyncio.BaseTransport]) -> None:
        self.made = made

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made.append(transport)


def _protocol(made: list[asyncio.BaseTransport]) -> Callable[[], Counting]:
    return lambda: Counting(made)


def _run(main: Any) -> Any:
    loop = eventloop.new_event_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def test_a_burst_of_connections_is_accepted_in_one_turn() -> None:
    async def main() -> int:
        made: list[asyncio.BaseTransport] = []
        server = await asyncio.get_running_loop().create_server(
            _protocol(made), "127.0.0.1", 0, backlog=64
        )
        port = server.sockets[0].getsockname()[1]
        # The loop does not run while they connect: the kernel completes the handshakes and
        # they wait in the backlog, as they do behind a turn spent serving busy connections.
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(CLIENTS)]
        try:
            for _turn in range(TURNS):
                await asyncio.sleep(0)
            return len(made)
        finally:
            for client in clients:
                client.close()
            for transport in made:
                transport.close()
            server.close()
            await server.wait_closed()

    assert _run(main) == CLIENTS


def test_a_closed_server_refuses_new_connections_and_keeps_the_accepted_ones() -> None:
    async def main() -> tuple[bytes, bool]:
        class Echo(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def data_received(self, data: bytes) -> None:
                self.transport.write(data)

        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(0.01)
        server.close()
        await server.wait_closed()
        writer.write(b"still here")
        echoed = await asyncio.wait_for(reader.readexactly(10), 5)
        writer.close()
        try:
            await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            refused = True
        else:
            refused = False
        return echoed, refused and not server.is_serving()

    assert _run(main) == (b"still here", True)


class _OutOfDescriptorsOnce:
    """A listening socket whose first accept fails as a process out of descriptors does."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.failed = False

    def accept(self) -> tuple[socket.socket, Any]:
        if not self.failed:
            self.failed = True
            raise OSError(errno.EMFILE, "Too many open files")
        return self.sock.accept()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


def test_out_of_descriptors_rests_the_socket_then_accepts_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(eventloop, "_RETRY_SECONDS", 0.05)

    async def main() -> tuple[int, int, bool]:
        made: list[asyncio.BaseTransport] = []
        loop = asyncio.get_running_loop()
        listening = socket.create_server(("127.0.0.1", 0))
        flaky = _OutOfDescriptorsOnce(listening)
        server = eventloop.Listeners(loop, [flaky], _protocol(made), 16)  # type: ignore[list-item]
        client = socket.create_connection(listening.getsockname())
        try:
            for _turn in range(TURNS):  # the failure: nothing accepted, the socket rests
                await asyncio.sleep(0)
            during = len(made)
            await asyncio.sleep(0.2)  # after the rest, the waiting client is accepted
            return during, len(made), flaky.failed
        finally:
            client.close()
            for transport in made:
                transport.close()
            server.close()

    with structlog.testing.capture_logs() as logs:
        assert _run(main) == (0, 1, True)
    assert [entry["event"] for entry in logs] == ["accept failed: resting the listening socket"]
    assert logs[0]["error"] == "EMFILE"


def test_a_server_with_options_the_loop_does_not_take_is_uvloops_own() -> None:
    async def main() -> tuple[bool, int]:
        made: list[asyncio.BaseTransport] = []
        server = await asyncio.get_running_loop().create_server(
            _protocol(made), "127.0.0.1", 0, reuse_port=True
        )
        port = server.sockets[0].getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        try:
            for _turn in range(TURNS):
                await asyncio.sleep(0)
            return isinstance(server, eventloop.Listeners), len(made)
        finally:
            client.close()
            for transport in made:
                transport.close()
            server.close()
            await server.wait_closed()

    assert _run(main) == (False, 1)


# -- writes held until the turn ends ------------------------------------------------------


class _Recording(asyncio.Transport):
    """A stream transport that records what is asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Any] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.calls.append(bytes(data))

    def close(self) -> None:
        self.calls.append("close")
        self.closing = True

    def abort(self) -> None:
        self.calls.append("abort")
        self.closing = True

    def write_eof(self) -> None:
        self.calls.append("eof")

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 7


async def _busy(turn: eventloop.TurnWrites) -> None:
    """A turn in which two connections write: the next turn holds its writes."""
    for transport in (_Recording(), _Recording()):
        eventloop.HeldWrites(transport, turn).write(b"earlier answer")
    await asyncio.sleep(0)


def test_a_busy_turns_writes_leave_together_when_it_ends_and_a_lone_answer_at_once() -> None:
    async def main() -> list[Any]:
        turn = eventloop.TurnWrites(asyncio.get_running_loop())
        first, second = _Recording(), _Recording()
        one, two = eventloop.HeldWrites(first, turn), eventloop.HeldWrites(second, turn)
        seen: list[Any] = []
        # A quiet loop: written at once, and the turn counts the connections that wrote.
        one.write(b"a")
        two.write(b"b")
        seen.append([list(first.calls), list(second.calls)])
        await asyncio.sleep(0)  # two wrote: the next turn holds
        one.write(b"HTTP/1.1 200 OK\r\n\r\n")
        two.write(b"head ")
        one.write(bytearray(b"body"))
        two.writelines([b"and ", memoryview(b"body")])
        one.write(b"")
        seen.append([list(first.calls), list(second.calls)])
        seen.append(one.get_write_buffer_size())
        await asyncio.sleep(0)  # the busy turn ends: one write each
        seen.append([list(first.calls), list(second.calls)])
        one.write(b"alone")  # held: the turn before was busy; this one is not
        seen.append(list(first.calls))
        await asyncio.sleep(0)
        one.write(b"at once")  # one connection a turn: as uvloop sends it
        seen.append(list(first.calls))
        return seen

    quiet, during, buffered, ended, alone, lone = _run(main)
    assert quiet == [[b"a"], [b"b"]]
    assert during == quiet
    assert buffered == len(b"HTTP/1.1 200 OK\r\n\r\nbody") + 7
    assert ended == [[b"a", b"HTTP/1.1 200 OK\r\n\r\nbody"], [b"b", b"head and body"]]
    assert alone == ended[0]
    assert lone == [*ended[0], b"alone", b"at once"]


def test_held_writes_go_before_a_close_or_an_eof_and_an_abort_drops_them() -> None:
    async def main() -> list[list[Any]]:
        turn = eventloop.TurnWrites(asyncio.get_running_loop())
        await _busy(turn)
        closed, ended, aborted = _Recording(), _Recording(), _Recording()
        held = [eventloop.HeldWrites(t, turn) for t in (closed, ended, aborted)]
        for each in held:
            each.write(b"answer ")
            each.write(b"last")
        held[0].close()
        held[1].write_eof()
        held[2].abort()
        await asyncio.sleep(0)  # the turn ends: nothing is left to write
        return [closed.calls, ended.calls, aborted.calls]

    assert _run(main) == [[b"answer last", "close"], [b"answer last", "eof"], ["abort"]]


def test_a_large_answer_goes_at_once_and_a_lost_connection_is_not_written() -> None:
    async def main() -> tuple[list[Any], list[Any], list[Any]]:
        turn = eventloop.TurnWrites(asyncio.get_running_loop())
        await _busy(turn)
        big, lost, closing = _Recording(), _Recording(), _Recording()
        eventloop.HeldWrites(big, turn).write(b"x" * eventloop.HOLD_AT_MOST)
        at_once = list(big.calls)
        held = eventloop.HeldWrites(lost, turn)
        held.write(b"to nobody")
        lost.closing = True  # the peer went away before the turn ended
        closing.closing = True
        eventloop.HeldWrites(closing, turn).write(b"after close")  # the transport's answer
        await asyncio.sleep(0)
        return at_once, lost.calls, closing.calls

    at_once, lost, closing = _run(main)
    assert [len(each) for each in at_once] == [eventloop.HOLD_AT_MOST]
    assert lost == []
    assert closing == [b"after close"]


def test_a_served_connection_writes_through_held_writes_and_its_answers_arrive_in_order() -> None:
    async def main() -> tuple[bytes, list[str]]:
        kinds: list[str] = []

        class TwoParts(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                kinds.append(type(transport).__name__)
                self.transport = transport

            def data_received(self, data: bytes) -> None:
                for line in data.split(b"\n"):
                    if line:
                        self.transport.write(b"<" + line)
                        self.transport.write(b">")

        server = await asyncio.get_running_loop().create_server(TwoParts, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"a\nb\nc\n")
        answered = await asyncio.wait_for(reader.readexactly(9), 5)
        writer.close()
        server.close()
        await server.wait_closed()
        return answered, kinds

    assert _run(main) == (b"<a><b><c>", ["HeldWrites"])
