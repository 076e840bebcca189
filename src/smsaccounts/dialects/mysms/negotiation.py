"""Content negotiation: which format a body is in, which one to answer in, and the codecs.

A body is read by its Content-Type on every mount (absent or `*/*`: JSON). The answer is
JSON on /json, XML on /xml, and on /rest whatever `Accept` prefers (absent or `*/*`: the
request's own format), because real clients post JSON to /xml and expect XML back.
"""

from __future__ import annotations

from typing import Any

import msgspec

from smsaccounts.dialects import wire
from smsaccounts.dialects.mysms.messages import response

JSON, XML = "json", "xml"
MEDIA_TYPES = {JSON: b"application/json", XML: b"application/xml; charset=utf-8"}
_JSON = msgspec.json.Encoder()


def format_of(media: str) -> str | None:
    """`json`, `xml`, or None for a media type that is neither."""
    media = media.split(";")[0].strip().lower()
    if media in ("application/json", "text/json") or media.endswith("+json"):
        return JSON
    if media in ("application/xml", "text/xml") or media.endswith("+xml"):
        return XML
    return None


def request_format(content_type: str | None) -> str | None:
    """The body's format; None means an unsupported media type (415)."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("", "*/*"):
        return JSON
    return format_of(media)


def response_format(mount: str, accept: str | None, requested: str) -> str:
    if mount in (JSON, XML):
        return mount
    return _preferred(accept or "") or requested


def _preferred(accept: str) -> str | None:
    """The highest-q JSON or XML type in `Accept`; None when a wildcard or nothing decides."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        media, _, params = part.partition(";")
        ranked.append((-_quality(params), index, media.strip().lower()))
    for negative_q, _, media in sorted(ranked):
        if negative_q == 0:
            continue
        if media in ("*/*", "application/*"):
            return None
        found = format_of(media)
        if found:
            return found
    return None


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def decode(body: bytes, fmt: str) -> dict[str, Any]:
    """The request's fields as a dict; an empty body has none. Raises wire.WireError."""
    if not body.strip():
        return {}
    if fmt == XML:
        return wire.parse_xml(body)[1]
    return wire.parse_json_object(body)


def encode(answer: response, fmt: str) -> bytes:
    """One typed answer, two encoders; the XML root is the element's (the Struct's) name."""
    if fmt == XML:
        return wire.to_xml(type(answer).__name__, answer)
    return _JSON.encode(answer)
