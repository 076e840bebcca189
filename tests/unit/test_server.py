"""`smsaccounts serve`'s HTTP protocol: an answer's head and body leave in one write."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from smsaccounts.server import OneWriteCycle


class _Transport:
    """Records what the cycle writes, and whether it closed the connection."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "a write after the close"
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, _name: str, default: Any = None) -> Any:
        return default


def _cycle(transport: _Transport, *, method: str = "POST", keep_alive: bool = True) -> Any:
    cycle = RequestResponseCycle(
        scope={"type": "http", "method": method, "path": "/", "query_string": b""},  # type: ignore[typeddict-item]
        transport=transport,  # type: ignore[arg-type]
        flow=FlowControl(transport),  # type: ignore[arg-type]
        logger=logging.getLogger("test"),
        access_logger=logging.getLogger("test.access"),
        access_log=False,
        default_headers=[],
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=keep_alive,
        on_response=lambda: None,
    )
    cycle.__class__ = OneWriteCycle  # as OneWriteProtocol does with each new cycle
    return cycle


async def _answer(cycle: Any, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
    await cycle.send({"type": "http.response.start", "status": 200, "headers": headers})
    await cycle.send({"type": "http.response.body", "body": body})


def test_the_head_and_the_body_of_an_answer_leave_in_one_write() -> None:
    transport = _Transport()
    asyncio.run(_answer(_cycle(transport), b"hello"))
    assert transport.writes == [
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello"
    ]


def test_a_head_answer_without_body_bytes_still_sends_its_head() -> None:
    transport = _Transport()
    asyncio.run(_answer(_cycle(transport, method="HEAD"), b""))
    assert transport.writes == [
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 0\r\n\r\n"
    ]


def test_a_closing_connection_writes_the_whole_answer_before_it_closes() -> None:
    transport = _Transport()
    asyncio.run(_answer(_cycle(transport, keep_alive=False), b"bye"))
    assert len(transport.writes) == 1
    assert transport.writes[0].endswith(b"\r\n\r\nbye")
    assert b"connection: close" in transport.writes[0]
    assert transport.closed


def test_a_streamed_answer_joins_the_head_to_its_first_part_only() -> None:
    transport = _Transport()

    async def stream() -> None:
        cycle = _cycle(transport)
        headers = [(b"content-length", b"4")]
        await cycle.send({"type": "http.response.start", "status": 200, "headers": headers})
        await cycle.send({"type": "http.response.body", "body": b"ab", "more_body": True})
        await cycle.send({"type": "http.response.body", "body": b"cd"})

    asyncio.run(stream())
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nab", b"cd"]
