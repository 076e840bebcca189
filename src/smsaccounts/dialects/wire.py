"""What every dialect needs on the wire: hardened XML in and out over msgspec Structs,
request parameters from query, form or JSON, and the client's address.

XML is parsed by lxml with DTDs refused outright (no entities, no network, no huge
trees), and written by one encoder from the same typed values JSON is written from.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncGenerator, Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import msgspec
from lxml import etree
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.types import Receive

from smsaccounts.domain.network import Network, client_address
from smsaccounts.errors import BadRequest, InvalidField

T = TypeVar("T")
V = TypeVar("V")

MAX_DEPTH = 32
XINCLUDE = "http://www.w3.org/2001/XInclude"
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)
_JSON = msgspec.json.Decoder()
# Request parameters in a JSON body: a number with a fraction or an exponent stays the text
# it was sent as (`2.50`, `1e3`), so that it reads, and hashes, as it would in a form.
_JSON_PARAMS = msgspec.json.Decoder(float_hook=str)
_DECLARATIONS = re.compile(rb"<!(?:doctype|entity)", re.IGNORECASE)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class WireError(BadRequest):
    """A body that cannot be read: malformed, hostile, or of the wrong shape."""


# -- XML in ------------------------------------------------------------------------------


def without_bom(body: bytes) -> bytes:
    """`body` without a leading UTF-8 byte-order mark, which common writers put before XML."""
    return body.removeprefix(codecs.BOM_UTF8)


def looks_like_xml(body: bytes) -> bool:
    """Whether a body of unknown format starts (after a BOM and blanks) like an XML document."""
    return without_bom(body).lstrip()[:1] == b"<"


def parse_xml(body: bytes) -> tuple[str, dict[str, Any]]:
    """The root element's name and its children as a dict (repeated children as lists).

    A DOCTYPE or ENTITY declaration anywhere is refused before parsing: nothing a client
    sends may define entities or point at external files. A UTF-8 byte-order mark is read
    as the document's first bytes may be; every check below runs on what follows it.
    """
    body = without_bom(body)
    if b"\x00" in body:
        # UTF-16/32 would hide a DOCTYPE from the byte check below; UTF-8 never has NULs.
        raise WireError("only UTF-8 XML is accepted")
    if _DECLARATIONS.search(body):
        raise WireError("DTDs and entities are not accepted")
    if not looks_like_xml(body):
        raise WireError("not an XML document")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as error:
        raise WireError(f"malformed XML: {error.msg}") from None
    if root is None:
        raise WireError("empty XML document")
    # A second guard after parsing; lxml's stubs do not know DocInfo.doctype.
    doctype: str = getattr(root.getroottree().docinfo, "doctype", "")
    if doctype:
        raise WireError("DTDs and entities are not accepted")
    if next(root.iter(f"{{{XINCLUDE}}}*"), None) is not None:
        raise WireError("XInclude is not accepted")
    return _local(root.tag), _element_dict(root, 1)


def _element_dict(element: Any, depth: int) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise WireError("XML nested too deeply")
    out: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        value: Any = _element_dict(child, depth + 1) if len(child) else (child.text or "")
        name = _local(child.tag)
        if name in out:
            previous = out[name]
            out[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[name] = value
    return out


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


# -- XML out -----------------------------------------------------------------------------


def to_xml(root: str, value: Any, *, declaration: bool = True, nulls: bool = False) -> bytes:
    """Encode a Struct (or mapping) as `<root>` with one child per field.

    Lists repeat their element, nested Structs nest, None is left out (with `nulls`: an
    empty element, so that every field is there), booleans are `true`/`false`; text is
    escaped as lxml escapes it, so `<&>` in a name round-trips.

    Written as text: through lxml a MOR page of 32 elements cost ~40 µs, a SubElement each
    (`make bench --profile`). The bytes are lxml's, element for element
    (tests/unit/test_xml_out.py); a name lxml would write differently or refuse (a
    namespace's `{uri}`, anything beyond plain ASCII) sends the document through lxml.
    """
    builtins = msgspec.to_builtins(value, str_keys=True)
    parts = [_DECLARATION] if declaration else []
    try:
        _write(parts, root, builtins, nulls)
    except _NotPlain:
        return to_xml_lxml(root, builtins, declaration=declaration, nulls=nulls)
    return "".join(parts).encode()


_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n"
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_PLAIN_SEEN: set[str] = set()  # names checked already (bounded: names are fields)


class _NotPlain(Exception):
    """A name `_write` leaves to lxml."""


def _write(parts: list[str], name: str, value: Any, nulls: bool) -> None:
    if name not in _PLAIN_SEEN:
        if _PLAIN_NAME.match(name) is None:
            raise _NotPlain
        if len(_PLAIN_SEEN) < 10_000:
            _PLAIN_SEEN.add(name)
    if type(value) is dict:
        parts.append(f"<{name}>")
        opened = len(parts)
        for key, item in value.items():
            for one in item if type(item) is list else (item,):
                kind = type(one)
                # A leaf that goes out as it is, without a call per element (a MOR page's 32):
                # an int, or text with no markup to escape and nothing `_text` replaces (a
                # printable character is never one XML cannot carry: those are controls,
                # surrogates and noncharacters; a carriage return takes the path below).
                if key in _PLAIN_SEEN and (
                    kind is int
                    or (
                        kind is str
                        and one.isprintable()
                        and "&" not in one
                        and "<" not in one
                        and ">" not in one
                    )
                ):
                    parts.append(f"<{key}>{one}</{key}>")
                elif one is not None or nulls:
                    _write(parts, key, one, nulls)
        if len(parts) == opened:
            parts[-1] = f"<{name}/>"
        else:
            parts.append(f"</{name}>")
    elif value is None:
        parts.append(f"<{name}/>")
    elif type(value) is int:  # digits and a sign: nothing to escape (most answers' fields)
        parts.append(f"<{name}>{value}</{name}>")
    else:
        text = _text(value)
        # What libxml2 escapes in text content, and nothing else.
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        parts.append(f"<{name}>{text.replace(chr(13), '&#13;')}</{name}>")


def to_xml_lxml(root: str, builtins: Any, *, declaration: bool, nulls: bool) -> bytes:
    """`to_xml` through lxml, from `msgspec.to_builtins`'s output."""
    element = etree.Element(root)
    _fill(element, builtins, nulls)
    return etree.tostring(element, xml_declaration=declaration, encoding="UTF-8")


def _fill(element: Any, value: Any, nulls: bool) -> None:
    """`value` as built by msgspec.to_builtins: dicts, lists and scalars."""
    if type(value) is dict:
        for name, item in value.items():
            for one in item if type(item) is list else (item,):
                if one is not None:
                    _fill(etree.SubElement(element, name), one, nulls)
                elif nulls:
                    etree.SubElement(element, name)
    elif value is not None:
        element.text = _text(value)


def _text(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    if type(value) is not str:
        return str(value)
    # A stored value may hold characters XML 1.0 cannot carry (a NUL sent through JSON):
    # they are shown as U+FFFD instead of failing the whole answer.
    return _NOT_XML.sub("\ufffd", value)


# -- JSON, and typed conversion ----------------------------------------------------------


def parse_json_object(body: bytes, *, decoder: msgspec.json.Decoder[Any] = _JSON) -> dict[str, Any]:
    try:
        value = decoder.decode(body)
    except msgspec.DecodeError as error:
        raise WireError(f"malformed JSON: {error}") from None
    except RecursionError:  # msgspec recurses once per nesting level
        raise WireError("malformed JSON: nested too deeply") from None
    if not isinstance(value, dict):
        raise WireError("the JSON body must be an object")
    return value


def refuse_nul(value: V) -> V:
    """`value` unchanged, unless a string in it holds NUL: no database stores that
    (PostgreSQL refuses it outright), so it is bad input, answered before anything runs."""
    if isinstance(value, str):
        if "\x00" in value:
            raise WireError("text must not contain NUL characters")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            refuse_nul(key)
            refuse_nul(item)
    elif isinstance(value, list):
        for item in value:
            refuse_nul(item)
    return value


def convert(data: Mapping[str, Any], type_: type[T]) -> T:
    """Typed values from decoded data; strings coerce to ints and booleans (XML, forms).

    A value of the wrong type is an invalid field (the request itself was readable).
    """
    try:
        value = msgspec.convert(data, type_, strict=False)
    except msgspec.ValidationError as error:
        raise InvalidField(str(error)) from None
    fields = msgspec.to_builtins(value)  # the fields read, not the keys ignored
    for name, item in fields.items() if isinstance(fields, dict) else ():
        try:
            refuse_nul(item)
        except WireError as error:
            raise InvalidField(error.message, field=name) from None
    return value


# -- Request helpers ---------------------------------------------------------------------


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body from ASGI messages; None when the client disconnected."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def client_ip(connection: Mapping[str, Any], trusted: tuple[Network, ...] = ()) -> str | None:
    """The client's address from an ASGI scope, or a Request (a mapping over its scope).

    The peer's address, unless the peer is one of the `trusted` proxies: only then does
    X-Forwarded-For name the client (`network.client_address`). The server itself never
    rewrites the peer from a header (`smsaccounts serve` runs uvicorn without proxy headers).
    """
    client = connection.get("client")
    peer = client[0] if client else None
    if not trusted:
        return peer
    headers = connection.get("headers") or ()
    forwarded = [value.decode("latin-1") for name, value in headers if name == b"x-forwarded-for"]
    return client_address(peer, forwarded, trusted)


async def read_params(
    query: dict[str, str], body: bytes, raw_headers: list[tuple[bytes, bytes]]
) -> dict[str, Any]:
    """Parameters from the query string, then a form or JSON object body (body wins).

    A JSON body's values keep their JSON types, except that a number with a fraction or an
    exponent is its text on the wire (`2.50` stays "2.50", never the float 2.5).
    """
    params: dict[str, Any] = refuse_nul(dict(query))
    if not body:
        return params
    headers = Headers(raw=raw_headers)
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json" or (not media and body.lstrip()[:1] == b"{"):
        params.update(parse_json_object(body, decoder=_JSON_PARAMS))
    elif media in ("application/x-www-form-urlencoded", ""):
        try:
            params.update(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False))
        except UnicodeDecodeError:
            raise WireError("the form body is not UTF-8") from None
    elif media == "multipart/form-data":
        params.update(await _multipart(headers, body))
    return refuse_nul(params)


async def _multipart(headers: Headers, body: bytes) -> dict[str, str]:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    try:
        form = await MultiPartParser(headers, stream()).parse()
    except (MultiPartException, HTTPException):  # starlette raises the latter in an app
        raise WireError("malformed multipart body") from None
    return {k: v for k, v in form.items() if isinstance(v, str)}
