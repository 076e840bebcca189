"""The event loop `smsaccounts serve` runs on: uvloop, accepting every waiting connection in
one turn of the loop, and writing what a turn answered when the turn ends.

libuv, under uvloop, accepts one connection per turn. A turn serves every request that is
ready, so while busy connections make each turn long, a burst of new connections waits a turn
each: 32 clients connecting at once to a server busy with LINK pages (~1.2 ms each, ~40 ms a
turn) had their first answers 3 to 842 ms late, one turn later each, where every later answer
came within 124 ms (tcpdump on loopback, bench/README.md). Python's own asyncio loop accepts
up to the listen backlog per turn; `Loop` does the same and hands each socket to uvloop's
transports (`connect_accepted_socket`), so nothing else about serving changes. TLS, which
`serve` does not offer, is left to uvloop.

uvloop sends each write at once: an answer's head and its body, then the next connection's,
each a send of its own spread over the turn, and each wakes the client that waits for it. On
loopback (`make bench`, 2 cores) that waking cost the kernel ~17 µs an answer, 30% of the
server's CPU. While the loop is busy (more than one connection wrote in the turn before), a
connection's writes are held until the turn ends (`TurnWrites`), as Netty's flush
consolidation holds flushes, and then each connection's go in one send: the clients wake
once for a turn's answers and send their next requests together, so the next turn reads
more at once. Pinned, 32 connections: mysms balance/get 8,100 -> 11,800 req/s (p99 7.7 ->
3.8 ms), the bare baseline on this loop 15,700 -> 22,600; at one connection nothing is held
and nothing changed (bench/README.md). An answer waits at most the rest of its turn; 64 KiB
held go at once (memory stays bounded and the transport's flow control sees them).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import Callable, Iterable
from typing import Any, cast

import structlog
import uvloop

log = structlog.get_logger(__name__)

# Out of descriptors or memory: accepting again at once would fail again at once, so the
# listening socket rests this long (asyncio's own loop waits as long).
_RETRY_SECONDS = 1.0
_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class Loop(uvloop.Loop):
    """uvloop, but a plain TCP server accepts up to its backlog of connections in one turn."""

    async def create_server(  # type: ignore[override]
        self,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        host: str | None = None,
        port: int | None = None,
        *,
        sock: socket.socket | None = None,
        backlog: int = 100,
        ssl: Any = None,
        **kwargs: Any,
    ) -> asyncio.AbstractServer:
        if ssl is not None or kwargs:
            options: dict[str, Any] = {"host": host, "port": port, "sock": sock,
                                       "backlog": backlog, "ssl": ssl, **kwargs}  # fmt: skip
            return await super().create_server(protocol_factory, **options)
        sockets = [sock] if sock is not None else await self._bind(host, port)
        return Listeners(self, sockets, protocol_factory, backlog)

    async def _bind(self, host: str | None, port: int | None) -> list[socket.socket]:
        """One listening socket per address `host` names (every interface when None), as
        asyncio's `create_server` binds them."""
        infos = await self.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)  # fmt: skip
        sockets: list[socket.socket] = []
        try:
            for family, kind, proto, _name, address in dict.fromkeys(infos):
                sock = socket.socket(family, kind, proto)
                sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
        except BaseException:
            for sock in sockets:
                sock.close()
            raise
        return sockets


class Listeners(asyncio.AbstractServer):
    """Listening sockets whose waiting connections are all accepted when one is readable."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sockets: list[socket.socket],
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        backlog: int,
    ) -> None:
        self._loop = loop
        self._factory = protocol_factory
        self._backlog = backlog
        self._sockets = sockets
        self._serving = True
        self._closed = loop.create_future()
        self._connecting: set[asyncio.Task[None]] = set()
        self._turn = TurnWrites(loop)
        for sock in sockets:
            sock.setblocking(False)
            sock.listen(backlog)
            loop.add_reader(sock.fileno(), self._accept, sock)

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return tuple(self._sockets)

    def _accept(self, listening: socket.socket) -> None:
        for _ in range(self._backlog):
            try:
                conn, _address = listening.accept()
            except (BlockingIOError, InterruptedError):
                return  # none left waiting
            except ConnectionAbortedError:
                continue  # the client gave up before it was accepted
            except OSError as error:
                if error.errno not in _RESOURCES:
                    raise
                log.warning("accept failed: resting the listening socket",
                            error=errno.errorcode.get(error.errno or 0, str(error.errno)),
                            retry_seconds=_RETRY_SECONDS)  # fmt: skip
                self._loop.remove_reader(listening.fileno())
                self._loop.call_later(_RETRY_SECONDS, self._resume, listening)
                return
            conn.setblocking(False)
            if conn.family in (socket.AF_INET, socket.AF_INET6):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = self._loop.create_task(self._connect(conn))
            self._connecting.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(self._connecting.discard)

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._protocol, conn)
        except OSError:  # the client left while its transport was made
            conn.close()

    def _protocol(self) -> asyncio.BaseProtocol:
        """The factory's protocol, given a transport whose writes wait for the turn's end
        (`TurnWrites`) when it is made."""
        protocol = self._factory()
        made = protocol.connection_made
        turn = self._turn

        def connection_made(transport: asyncio.BaseTransport) -> None:
            # A TCP connection's: a stream transport (uvloop's registers with no asyncio ABC).
            made(HeldWrites(cast(asyncio.Transport, transport), turn))

        # The protocol's own method, shadowed for this one connection (a protocol whose
        # class forbids new attributes is given the transport as it is).
        with contextlib.suppress(AttributeError):
            protocol.connection_made = connection_made  # type: ignore[method-assign]
        return protocol

    def _resume(self, listening: socket.socket) -> None:
        if self._serving:
            self._loop.add_reader(listening.fileno(), self._accept, listening)

    def close(self) -> None:
        """Stop accepting (connections already accepted go on) and close the sockets."""
        if not self._serving:
            return
        self._serving = False
        for sock in self._sockets:
            self._loop.remove_reader(sock.fileno())
            sock.close()
        self._closed.set_result(None)

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return self._serving

    async def start_serving(self) -> None:
        """Serving starts when the server is made."""

    async def serve_forever(self) -> None:
        await self._closed

    async def wait_closed(self) -> None:
        await self._closed


# Held writes of one connection that go at once, without waiting for the turn's end.
HOLD_AT_MOST = 64 * 1024


class TurnWrites:
    """The turns of `loop` as its connections write: how many wrote in each, and the
    writes held until the turn ends.

    Writes are held only while the loop is busy: when more than one connection wrote in the
    turn before. A lone request's answer (one connection a turn) goes at once, as uvloop
    would send it: held, it would wait for the next turn, ~30 µs at one connection.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._holding: list[HeldWrites] = []
        self.number = 0  # of the turn now: a connection notes each turn it writes in once
        self._writers = 0  # connections that wrote in this turn
        self.busy = False  # more than one wrote in the turn before: hold this turn's writes

    def note(self) -> None:
        """A connection writes for the first time in this turn.

        The turn's end is a callback scheduled at its first write: it runs after every one
        already due (this turn's other requests) and before anything the next turn reads."""
        if not self._writers:
            self._loop.call_soon(self.end)
        self._writers += 1

    def hold(self, held: HeldWrites) -> None:
        """`held` holds writes: write them when the turn ends."""
        self._holding.append(held)

    def end(self) -> None:
        """The turn ends: what it held is written; the next holds if this one was busy."""
        self.busy = self._writers > 1
        self._writers = 0
        self.number += 1
        holding, self._holding = self._holding, []
        for held in holding:
            held.flush()


class HeldWrites(asyncio.Transport):
    """A transport whose writes are held until the loop's turn ends (`TurnWrites`), then
    written together in one send; everything else is the transport's own."""

    __slots__ = ("_held", "_noted", "_size", "_transport", "_turn")

    def __init__(self, transport: asyncio.Transport, turn: TurnWrites) -> None:
        super().__init__()
        self._transport = transport
        self._turn = turn
        self._held: list[bytes] = []
        self._size = 0
        self._noted = -1  # the turn this connection last wrote in

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        turn = self._turn
        if self._noted != turn.number:
            self._noted = turn.number
            turn.note()
        if not self._held:
            if not turn.busy or self._transport.is_closing():
                self._transport.write(data)  # at once (after a close: the transport's answer)
                return
            turn.hold(self)
        self._held.append(bytes(data))
        self._size += len(data)
        if self._size >= HOLD_AT_MOST:
            self.flush()

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Write what is held, in one send (the turn's end; a close; 64 KiB held)."""
        if not self._held:
            return
        held, self._held, self._size = self._held, [], 0
        if self._transport.is_closing():
            return  # the connection was lost meanwhile: nobody is there to read it
        self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held, self._size = [], 0
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_write_buffer_size(self) -> int:
        return self._size + self._transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The loop factory uvicorn is given (`loop="smsaccounts.eventloop:new_event_loop"`)."""
    return Loop()
