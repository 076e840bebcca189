"""The event loop `smsaccounts serve` runs on: uvloop, accepting every waiting connection in
one turn of the loop.

libuv, under uvloop, accepts one connection per turn. A turn serves every request that is
ready, so while busy connections make each turn long, a burst of new connections waits a turn
each: 32 clients connecting at once to a server busy with LINK pages (~1.2 ms each, ~40 ms a
turn) had their first answers 3 to 842 ms late, one turn later each, where every later answer
came within 124 ms (tcpdump on loopback, bench/README.md). Python's own asyncio loop accepts
up to the listen backlog per turn; `Loop` does the same and hands each socket to uvloop's
transports (`connect_accepted_socket`), so nothing else about serving changes. TLS, which
`serve` does not offer, is left to uvloop.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable
from typing import Any

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
            await self._loop.connect_accepted_socket(self._factory, conn)
        except OSError:  # the client left while its transport was made
            conn.close()

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


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The loop factory uvicorn is given (`loop="smsaccounts.eventloop:new_event_loop"`)."""
    return Loop()
