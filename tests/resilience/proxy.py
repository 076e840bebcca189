"""A loopback TCP proxy whose `stop()` is a database outage: the listener closes and every
connection through it is cut; `start()` listens again on the same port."""

from __future__ import annotations

import contextlib
import socket
import threading

_POLL = 0.05  # how often the accept loop looks at its stop flag, in seconds
_CONNECT_TIMEOUT = 5.0


class Proxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._pipes: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None

    def start(self) -> None:
        assert self._listener is None, "the proxy is already listening"
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(_POLL)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._stopping.clear()
        self._acceptor = threading.Thread(target=self._accept_loop, args=(listener,), daemon=True)
        self._acceptor.start()

    def stop(self) -> None:
        """Refuse new connections and cut every open one, both ways, at once."""
        self._stopping.set()
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
            assert not self._acceptor.is_alive(), "the proxy's accept loop did not stop"
            self._acceptor = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            open_sockets = list(self._sockets)
            self._sockets.clear()
        for sock in open_sockets:
            _cut(sock)
        for thread in self._pipes:
            thread.join(timeout=5)
        assert not any(t.is_alive() for t in self._pipes), "a proxy pipe did not stop"
        self._pipes.clear()

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=_CONNECT_TIMEOUT)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self._sockets.update((client, server))
            for source, target in ((client, server), (server, client)):
                pipe = threading.Thread(target=_pipe, args=(source, target), daemon=True)
                self._pipes.append(pipe)
                pipe.start()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    _cut(source)
    _cut(target)


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
