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
