"""The HTTP/1.1 protocol `smsaccounts serve` runs under uvicorn: uvicorn's httptools one,
except that an answer's status line and headers go out in the same write as its body.

uvicorn writes the head of an answer when the app sends `http.response.start` and the body
when it sends `http.response.body`: two writes, two syscalls and, with TCP_NODELAY, two
packets (each acknowledged) for a balance/get of 60 bytes. In the profile of mysms
balance/get under wrk, the head's write alone took 30% of the server's samples. Here the
head is held until the first body write (or the close, or the end of a HEAD answer) and
joined to it. Everything else (parsing, keep-alive, flow control, 100-continue, limits,
error answers) is uvicorn's own code.
"""

from __future__ import annotations

import asyncio
from typing import Any

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
except ImportError:  # pragma: no cover - httptools is a dependency; without it, uvicorn's own
    HTTP: Any = "auto"
else:

    class _HeadWithBody:
        """A transport that holds the head of an answer and writes it with what follows.

        Only `write` and `close` differ from the transport it wraps.
        """

        __slots__ = ("_head", "_transport")

        def __init__(self, transport: asyncio.Transport) -> None:
            self._transport = transport
            self._head: bytes | None = None

        def hold(self, head: bytes) -> None:
            self._head = head

        def write(self, data: bytes) -> None:
            if self._head is not None:
                data, self._head = self._head + data, None
            self._transport.write(data)

        def flush(self) -> None:
            """Write a head no body followed (a HEAD answer; an app that stopped short)."""
            if self._head is not None:
                self.write(b"")

        def close(self) -> None:
            self.flush()
            self._transport.close()

        def __getattr__(self, name: str) -> Any:
            return getattr(self._transport, name)

    class _HoldingWrites:
        """What `RequestResponseCycle.send` writes the head to: it is kept, not sent."""

        __slots__ = ("_into",)

        def __init__(self, into: _HeadWithBody) -> None:
            self._into = into

        def write(self, data: bytes) -> None:
            self._into.hold(data)

        def __getattr__(self, name: str) -> Any:  # pragma: no cover - send only writes
            return getattr(self._into, name)

    class OneWriteCycle(RequestResponseCycle):
        """uvicorn's request cycle, with the head of its answer written with the body."""

        async def send(self, message: Any) -> None:
            cycle: Any = self  # uvicorn types `transport` as asyncio.Transport
            if message["type"] == "http.response.start" and not self.response_started:
                out = cycle.transport
                if not isinstance(out, _HeadWithBody):
                    out = cycle.transport = _HeadWithBody(out)
                cycle.transport = _HoldingWrites(out)
                try:
                    await super().send(message)
                finally:
                    cycle.transport = out
                return
            await super().send(message)
            if self.response_complete and isinstance(cycle.transport, _HeadWithBody):
                cycle.transport.flush()

    class OneWriteProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol, serving each request with a `OneWriteCycle`."""

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            cycle = self.cycle
            if type(cycle) is RequestResponseCycle:
                # The cycle was just made and its task not yet run: it serves as the subclass
                # (which adds no state), so uvicorn's own constructor call stays as it is.
                cycle.__class__ = OneWriteCycle

    HTTP = OneWriteProtocol
