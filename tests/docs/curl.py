"""The examples of docs/: each ```sh block with one `curl` command, and the fenced block
after it showing the answer. Read here, run against the app, and compared by shape."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from typing import Any
from urllib.parse import quote_plus, urlsplit

from lxml import etree

BASE = "http://127.0.0.1:8080"
ELLIPSIS = "…"  # in a shown value: any text here
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```\s*$", re.M | re.S)


@dataclasses.dataclass(frozen=True)
class Request:
    method: str
    path: str  # with its query string
    headers: dict[str, str]
    body: bytes


@dataclasses.dataclass(frozen=True)
class Example:
    page: str
    line: int
    command: str
    request: Request
    status: int
    headers: dict[str, str]
    media: str  # json | xml
    answer: str


def examples(page: str, text: str) -> list[Example]:
    """Every curl example of a page, in order; a curl block without an answer is an error."""
    blocks = [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1)
              for m in _BLOCK.finditer(text)]  # fmt: skip
    found = []
    for index, (lang, body, line) in enumerate(blocks):
        if lang != "sh" or "curl " not in body:
            continue
        command = body.strip()
        if not command.startswith("curl ") or command.count("curl ") != 1:
            raise ValueError(f"{page}:{line}: one curl command per ```sh block")
        if index + 1 >= len(blocks) or blocks[index + 1][0] not in ("json", "xml"):
            raise ValueError(f"{page}:{line}: a curl example needs a json or xml answer block")
        media, shown = blocks[index + 1][0], blocks[index + 1][1]
        status, headers, answer = _status_headers(shown)
        found.append(Example(page, line, command, parse_curl(command), status, headers, media,
                             answer))  # fmt: skip
    return found


def _status_headers(shown: str) -> tuple[int, dict[str, str], str]:
    """`HTTP/1.1 405 ...` and header lines, then a blank line, may open an answer block."""
    if not shown.startswith("HTTP/"):
        return 200, {}, shown
    head, _, body = shown.partition("\n\n")
    status_line, *lines = head.splitlines()
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), {k.lower(): v for k, v in headers.items()}, body


def parse_curl(command: str) -> Request:
    """The request a curl command line sends (the options the docs use, nothing else)."""
    words = shlex.split(command.replace("\\\n", " "))
    method, url, get = None, None, False
    headers: dict[str, str] = {}
    data: list[str] = []
    i = 1
    while i < len(words):
        word = words[i]
        if word in ("-X", "--request"):
            method, i = words[i + 1], i + 2
        elif word in ("-H", "--header"):
            name, _, value = words[i + 1].partition(":")
            headers[name.strip()] = value.strip()
            i += 2
        elif word in ("-d", "--data"):
            data.append(words[i + 1])
            i += 2
        elif word == "--data-urlencode":
            name, _, value = words[i + 1].partition("=")
            data.append(f"{name}={quote_plus(value)}")
            i += 2
        elif word in ("-G", "--get"):
            get, i = True, i + 1
        elif word in ("-s", "--silent"):
            i += 1
        elif word.startswith("-"):
            raise ValueError(f"a curl option the docs test does not know: {word}")
        else:
            url, i = word, i + 1
    if url is None or not url.startswith(BASE + "/"):
        raise ValueError(f"examples call {BASE}/...: {url}")
    parts = urlsplit(url)
    query = parts.query
    body = "&".join(data)
    if get:
        query, body = "&".join(filter(None, (query, body))), ""
    if body and not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    method = method or ("GET" if get or not body else "POST")
    path = parts.path + (f"?{query}" if query else "")
    return Request(method, path, headers, body.encode())


# -- comparing a shown answer with the real one -----------------------------------------


def differences(media: str, shown: str, actual: bytes) -> list[str]:
    """Where the real answer's shape differs from the shown one (empty: it matches).

    JSON: the same keys, the same types, and the same values, but that a shown string with
    `…` matches any text in its place. XML: the same elements in the same order, the same
    text (again with `…`), whitespace between elements ignored.
    """
    if media == "json":
        try:
            real = json.loads(actual)
        except ValueError:
            return [f"not JSON: {actual[:200]!r}"]
        return _json_diff("$", json.loads(shown), real)
    try:
        real_xml = etree.fromstring(actual)
    except etree.XMLSyntaxError:
        return [f"not XML: {actual[:200]!r}"]
    return _xml_diff(etree.fromstring(shown.encode()), real_xml, "")


def _json_diff(at: str, shown: Any, real: Any) -> list[str]:
    if isinstance(shown, dict) and isinstance(real, dict):
        if list(shown) != list(real):
            return [f"{at}: keys {list(real)}, shown {list(shown)}"]
        return [d for key in shown for d in _json_diff(f"{at}.{key}", shown[key], real[key])]
    if isinstance(shown, list) and isinstance(real, list):
        if len(shown) != len(real):
            return [f"{at}: {len(real)} items, shown {len(shown)}"]
        return [d for i, (s, r) in enumerate(zip(shown, real, strict=True))
                for d in _json_diff(f"{at}[{i}]", s, r)]  # fmt: skip
    if type(shown) is not type(real):
        return [f"{at}: {real!r}, shown {shown!r}"]
    if isinstance(shown, str) and _text_matches(shown, real):
        return []
    return [] if shown == real else [f"{at}: {real!r}, shown {shown!r}"]


def _xml_diff(shown: Any, real: Any, at: str) -> list[str]:
    at = f"{at}/{real.tag}"
    if shown.tag != real.tag:
        return [f"{at}: element <{real.tag}>, shown <{shown.tag}>"]
    tags = ([c.tag for c in shown], [c.tag for c in real])
    if tags[0] != tags[1]:
        return [f"{at}: children {tags[1]}, shown {tags[0]}"]
    if not len(shown) and not _text_matches((shown.text or "").strip(), real.text or ""):
        return [f"{at}: text {real.text!r}, shown {shown.text!r}"]
    return [d for s, r in zip(shown, real, strict=True) for d in _xml_diff(s, r, at)]


def _text_matches(shown: str, real: str) -> bool:
    if ELLIPSIS not in shown:
        return shown == real
    pattern = ".*".join(re.escape(part) for part in shown.split(ELLIPSIS))
    return re.fullmatch(pattern, real, re.S) is not None
