"""Hostile XML against every endpoint that reads an XML body: each attack is refused with
the dialect's own error, no file's contents come back, no socket is opened, memory stays low.

XML readers: mysms (12 methods on /rest, /json and /xml, the body read by Content-Type) and
LINK (POST /v2/user.{fmt}, PUT /v2/user/{id}.{fmt}, an XML body sniffed on both formats).
The reseller and MOR APIs read only query, form and JSON parameters: they get the same
attacks to show an XML body is never parsed there.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import resource
import socket
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from starlette.testclient import TestClient

from smsaccounts.dialects.mysms.messages import METHODS

from .conftest import Tree

MB = 1024 * 1024
PASSWD = "file:///etc/passwd"


@dataclasses.dataclass(frozen=True)
class Target:
    """Where to send an attack, and what refusing it looks like in that dialect."""

    name: str
    method: str
    url: str
    root: str  # the element a legitimate body would have as its root
    refused: Callable[[Any], bool]
    parses_xml: bool = True


@dataclasses.dataclass(frozen=True)
class Env:
    port: int  # the loopback listener every URL attack points at
    marker_path: Path
    marker: str


def _mysms_refused(mount: str) -> Callable[[Any], bool]:
    def refused(answer: Any) -> bool:
        if answer.status_code != 400:
            return False
        if mount == "json":
            return bool(answer.json() == {"errorCode": 2})
        root = etree.fromstring(answer.content)
        return root.findtext("errorCode") == "2" and len(root) == 1

    return refused


def _link_refused(fmt: str) -> Callable[[Any], bool]:
    def refused(answer: Any) -> bool:
        if answer.status_code != 400:
            return False
        if fmt == "json":
            body = answer.json()
            return body["status"] == 400 and isinstance(body["message"], str)
        root = etree.fromstring(answer.content)
        return root.tag == "response" and root.findtext("status") == "400"

    return refused


def _reseller_ignored(answer: Any) -> bool:
    return bool(answer.status_code == 200 and answer.json()["status"] == 1)  # nothing was read


def _mor_ignored(answer: Any) -> bool:
    return bool(
        answer.status_code == 200 and etree.fromstring(answer.content).find("error") is not None
    )


def targets(tree: Tree) -> list[Target]:
    mysms = [
        Target(
            f"mysms /{mount}/user/{path}",
            "POST",
            f"/{mount}/user/{path}",
            request.__name__,
            _mysms_refused(mount),
        )
        for mount in ("rest", "json", "xml")
        for path, (request, _response) in METHODS.items()
    ]
    key = tree.link_key
    link = [
        Target(
            f"LINK POST user.{fmt}",
            "POST",
            f"/v2/user.{fmt}?apikey={key}",
            "user",
            _link_refused(fmt),
        )
        for fmt in ("xml", "json")
    ] + [
        Target(
            f"LINK PUT user/id.{fmt}",
            "PUT",
            f"/v2/user/{tree.sub.id}.{fmt}?apikey={key}",
            "user",
            _link_refused(fmt),
        )
        for fmt in ("xml", "json")
    ]
    others = [
        Target(
            f"reseller {path}",
            "POST",
            f"/services/rest/{path}",
            "request",
            _reseller_ignored,
            parses_xml=False,
        )
        for path in (
            "customer/create",
            "user/create",
            "customer-user/create",
            "admin/addCredits",
            "admin/balance",
        )
    ] + [
        Target(
            f"MOR {name}", "POST", f"/billing/api/{name}", "request", _mor_ignored, parses_xml=False
        )
        for name in (
            "user_details_get",
            "user_details",
            "user_balance_update",
            "user_balance_change",
        )
    ]
    return mysms + link + others


# -- the attacks: (root element, environment) -> body -------------------------------------


def _doc(root: str, dtd: str, field: str) -> bytes:
    return f'<?xml version="1.0"?>\n{dtd}\n<{root}><msisdn>{field}</msisdn></{root}>'.encode()


def billion_laughs(root: str, _env: Env) -> bytes:
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    return _doc(root, f"<!DOCTYPE {root} [{''.join(levels)}]>", "&lol9;")


def quadratic_blowup(root: str, _env: Env) -> bytes:
    dtd = f'<!DOCTYPE {root} [<!ENTITY a "{"x" * 20_000}">]>'
    return _doc(root, dtd, "&a;" * 20_000)


def external_entity_passwd(root: str, _env: Env) -> bytes:
    return _doc(root, f'<!DOCTYPE {root} [<!ENTITY x SYSTEM "{PASSWD}">]>', "&x;")


def external_entity_marker_file(root: str, env: Env) -> bytes:
    url = env.marker_path.as_uri()
    return _doc(root, f'<!DOCTYPE {root} [<!ENTITY x SYSTEM "{url}">]>', "&x;")


def external_entity_url(root: str, env: Env) -> bytes:
    url = f"http://127.0.0.1:{env.port}/x"
    return _doc(root, f'<!DOCTYPE {root} [<!ENTITY x SYSTEM "{url}">]>', "&x;")


def external_dtd(root: str, env: Env) -> bytes:
    return _doc(root, f'<!DOCTYPE {root} SYSTEM "http://127.0.0.1:{env.port}/x.dtd">', "1")


def parameter_entities(root: str, env: Env) -> bytes:
    url = f"http://127.0.0.1:{env.port}/p.dtd"
    dtd = f'<!DOCTYPE {root} [<!ENTITY % ext SYSTEM "{url}"> %ext; <!ENTITY % l "{PASSWD}">]>'
    return _doc(root, dtd, "1")


def xinclude_file(root: str, _env: Env) -> bytes:
    include = f'<xi:include href="{PASSWD}" parse="text"/>'
    return (
        f'<{root} xmlns:xi="http://www.w3.org/2001/XInclude"><msisdn>{include}</msisdn></{root}>'
    ).encode()


def xinclude_url(root: str, env: Env) -> bytes:
    include = f'<xi:include href="http://127.0.0.1:{env.port}/x" parse="text"/>'
    return f'<{root} xmlns:xi="http://www.w3.org/2001/XInclude">{include}</{root}>'.encode()


def utf16_smuggled_doctype(root: str, env: Env) -> bytes:
    """A DOCTYPE in UTF-16: no `<!DOCTYPE` byte string appears, lxml still reads it."""
    text = external_entity_passwd(root, env).decode().replace("1.0", '1.0" encoding="UTF-16')
    return text.encode("utf-16-le")


def deep_nesting(root: str, _env: Env) -> bytes:
    depth = 100_000
    return f"<{root}>".encode() + b"<a>" * depth + b"</a>" * depth + f"</{root}>".encode()


def ten_megabytes(root: str, _env: Env) -> bytes:
    filler = b"<signature>" + b"x" * (10 * MB) + b"</signature>"
    return f"<{root}>".encode() + filler + f"</{root}>".encode()


ATTACKS = [
    billion_laughs,
    quadratic_blowup,
    external_entity_passwd,
    external_entity_marker_file,
    external_entity_url,
    external_dtd,
    parameter_entities,
    xinclude_file,
    xinclude_url,
    utf16_smuggled_doctype,
    deep_nesting,
    ten_megabytes,
]


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback TCP listener on the attacks' port (9 when free); nobody may connect."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", 9))
    except OSError:
        sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    yield sock
    sock.close()


def _connections(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def _send(http: TestClient, target: Target, body: bytes) -> tuple[Any, int, int]:
    """The answer, the Python heap peak during the call, and the growth of the peak RSS."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    answer = http.request(
        target.method, target.url, content=body, headers={"Content-Type": "application/xml"}
    )
    peak = tracemalloc.get_traced_memory()[1] - base
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    return answer, peak, rss_growth * 1024


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8], ids=["plain", "utf8-bom"])
@pytest.mark.parametrize("attack", ATTACKS, ids=lambda attack: attack.__name__)
def test_every_xml_reader_refuses_the_attack_without_files_network_or_memory(
    http: TestClient,
    tree_a: Tree,
    listener: socket.socket,
    tmp_path: Path,
    attack: Callable[[str, Env], bytes],
    bom: bytes,
) -> None:
    """Each XML-reading endpoint answers its own 400 (mysms errorCode 2, LINK status 400),
    a 10 MB body is 413 from the middleware, the others ignore the body; no answer holds
    /etc/passwd or the marker file, the listener sees no connection, memory stays bounded.
    A UTF-8 byte-order mark in front (read like the document without it) changes nothing."""
    marker = "MARKER-" + tmp_path.name
    marker_path = tmp_path / "marker.txt"
    marker_path.write_text(marker)
    env = Env(listener.getsockname()[1], marker_path, marker)
    big = attack is ten_megabytes
    refused = 0
    tracemalloc.start()
    try:
        for target in targets(tree_a):
            body = bom + attack(target.root, env)
            answer, heap_peak, rss_growth = _send(http, target, body)
            if big:
                assert answer.status_code == 413, target.name
                assert json.loads(answer.content) == {"error": "request body too large"}
            else:
                assert target.refused(answer), (target.name, answer.status_code, answer.text)
            assert "root:" not in answer.text, target.name
            assert marker not in answer.text, target.name
            # The body itself may be copied a few times by the client; nothing grows with
            # the entities' expansion (a billion laughs alone would be gigabytes).
            assert heap_peak < 4 * len(body) + 8 * MB, (target.name, heap_peak)
            assert rss_growth < 64 * MB, (target.name, rss_growth)
            refused += target.parses_xml
    finally:
        tracemalloc.stop()
    assert _connections(listener) == 0
    assert refused == 40  # 36 mysms method/mount pairs + 4 LINK endpoints
