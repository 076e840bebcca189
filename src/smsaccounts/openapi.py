"""One OpenAPI 3.1 document for every route of every dialect, and a page that shows it.

Each dialect declares its operations in `dialects/<name>/spec.py` (`OPERATIONS`), naming
the msgspec types its code decodes and encodes; the JSON Schemas come from
`msgspec.json.schema_components` over exactly those types, so the document cannot drift
from the wire. An XML body is the same schema under `application/xml`, its root element
given by `xml.name`.
"""

from __future__ import annotations

import dataclasses
import html
import importlib
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

REF_TEMPLATE = "#/components/schemas/{name}"
JSON = "application/json"
XML = "application/xml"
FORM = "application/x-www-form-urlencoded"


class BodyTooLarge(msgspec.Struct):
    """What `middleware.BodyLimit` answers (413) to a body over the size limit."""

    error: str


class Health(msgspec.Struct):
    """What `/healthz` answers: `ok`, or `unavailable` (503) while the database is down."""

    status: str


class Ready(msgspec.Struct, omit_defaults=True):
    """What `/readyz` answers: `ready`, or `unavailable` (503) naming what failed
    (`database`, `migrations` pending, `redis` when configured)."""

    status: str
    failed: list[str] = []


@dataclasses.dataclass(frozen=True, slots=True)
class Body:
    """A request or response body: one type (or alternatives), in some media types.

    `variants` pairs a type with its XML root element (None: the component's name).
    """

    variants: tuple[tuple[Any, str | None], ...]
    media: tuple[str, ...] = (JSON,)

    @classmethod
    def of(cls, type_: Any, *media: str, root: str | None = None) -> Body:
        return cls(((type_, root),), media or (JSON,))


@dataclasses.dataclass(frozen=True, slots=True)
class Param:
    """One parameter outside the body: path, query or header."""

    name: str
    where: str
    type: Any
    required: bool = False
    description: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Operation:
    """One method on one path, as its dialect serves it.

    The Structs a dialect decodes keep every field optional, so that a missing one is
    answered in the dialect's own words; `required` names the body or query fields the
    server requires all the same, and `one_of` the groups of which one name is required.
    """

    path: str
    method: str
    summary: str
    responses: dict[int, tuple[str, Body | None]]
    description: str = ""
    request: Body | None = None
    params: tuple[Param, ...] = ()
    query: Any = None  # a Struct whose fields are all query parameters
    security: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    one_of: tuple[tuple[str, ...], ...] = ()
    body_required: bool = False  # the server refuses a request without a body

    @property
    def types(self) -> list[Any]:
        bodies = [self.request, *(body for _, body in self.responses.values())]
        found = [t for body in bodies if body for t, _ in body.variants]
        return found + [p.type for p in self.params] + ([self.query] if self.query else [])


def dialect_operations() -> list[tuple[str, Operation]]:
    """(dialect name, operation) for every dialect, from each one's `spec.OPERATIONS`."""
    from smsaccounts.dialects import DIALECTS  # here: dialect specs import this module

    found = [("service", HEALTHZ), ("service", READYZ)]
    for dialect in DIALECTS:
        spec = importlib.import_module(f"{dialect.__name__}.spec")
        tag = dialect.__name__.rpartition(".")[2]
        found += [(tag, operation) for operation in spec.OPERATIONS]
    return found


def _xml_hints() -> dict[str, dict[str, dict[str, Any]]]:
    """Per component and property, the `xml` object of a dialect's XML rendering."""
    from smsaccounts.dialects import DIALECTS

    hints: dict[str, dict[str, dict[str, Any]]] = {}
    for dialect in DIALECTS:
        hints.update(getattr(importlib.import_module(f"{dialect.__name__}.spec"), "XML_SHAPES", {}))
    return hints


def document(
    operations: Sequence[tuple[str, Operation]] | None = None,
    *,
    security_schemes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `operations` (default: every dialect's)."""
    operations = dialect_operations() if operations is None else operations
    types = _unique(t for _, op in operations for t in op.types)
    schemas, components = msgspec.json.schema_components(types, ref_template=REF_TEMPLATE)
    for name, properties in _xml_hints().items():
        for prop, xml in properties.items():
            schema = components[name]["properties"][prop]
            schema["xml"] = {k: v for k, v in xml.items() if k != "items"}
            if "items" in xml:
                schema["items"] = {**schema["items"], "xml": {"name": xml["items"]}}
    builder = _Builder(dict(zip((id(t) for t in types), schemas, strict=True)), components)
    paths: dict[str, dict[str, Any]] = {}
    for tag, operation in operations:
        item = builder.operation(tag, operation)
        paths.setdefault(operation.path, {})[operation.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "smsaccounts",
            "version": "1",
            "description": "Accounts, wallets and credentials of an SMS platform, served "
            "through four wire-compatible API dialects (mysms, reseller, LINK v2 and MOR) and "
            "the charging API a sending gateway calls.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": security_schemes or _security_schemes(),
        },
    }


HEALTHZ = Operation(
    path="/healthz",
    method="GET",
    summary="the service and its database answer",
    responses={
        200: ("the service is up", Body.of(Health)),
        503: ("the database does not answer", Body.of(Health)),
    },
)


READYZ = Operation(
    path="/readyz",
    method="GET",
    summary="this worker can serve: database, migrations and Redis (when configured) ready",
    responses={
        200: ("ready", Body.of(Ready)),
        503: ("not ready: `failed` names each dependency that is not", Body.of(Ready)),
    },
)


def routes() -> list[Route]:
    """`/openapi.json` and `/docs`, both built once for the app that mounts them."""
    body = msgspec.json.encode(document())
    page = render_html(msgspec.json.decode(body))

    async def openapi_json(_request: Request) -> Response:
        return Response(body, media_type="application/json")

    async def docs(_request: Request) -> Response:
        return HTMLResponse(page)

    return [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
    ]


def _security_schemes() -> dict[str, Any]:
    from smsaccounts.dialects.charging import spec as charging_spec
    from smsaccounts.dialects.link import spec as link_spec

    return {**link_spec.SECURITY_SCHEMES, **charging_spec.SECURITY_SCHEMES}


def _unique(types: Iterable[Any]) -> list[Any]:
    seen: dict[int, Any] = {}
    for t in types:
        seen.setdefault(id(t), t)
    return list(seen.values())


class _Builder:
    def __init__(self, schemas: dict[int, Any], components: dict[str, Any]) -> None:
        self.schemas = schemas
        self.components = components

    def schema(self, type_: Any) -> dict[str, Any]:
        return dict(self.schemas[id(type_)])

    def operation(self, tag: str, op: Operation) -> dict[str, Any]:
        item: dict[str, Any] = {
            "tags": [tag],
            "summary": op.summary,
            "operationId": _operation_id(op),
            "responses": {
                str(status): self.response(text, body)
                for status, (text, body) in sorted(op.responses.items())
            },
        }
        if op.description:
            item["description"] = op.description
        parameters = [*map(self.parameter, op.params), *self.query(op.query, op)]
        if parameters:
            item["parameters"] = parameters
        if op.request:
            content = self.content(op.request, _needs(op))
            required = op.body_required or bool(_needs(op))
            item["requestBody"] = {"required": required, "content": content}
        if op.security:
            item["security"] = [{name: []} for name in op.security]
        return item

    def query(self, struct: Any, op: Operation) -> list[dict[str, Any]]:
        """A Struct's fields as query parameters, each with its property's schema.

        A query parameter is required on its own or not at all: a one-of group is said in
        the parameter's description instead.
        """
        if struct is None:
            return []
        component = self.components[_component_name(self.schema(struct))]
        required = {*component.get("required", []), *op.required}
        groups = {name: group for group in op.one_of for name in group}
        out = []
        for name, schema in component["properties"].items():
            param = {"name": name, "in": "query", "schema": _not_null(schema),
                     "required": name in required}  # fmt: skip
            if name in groups:
                param["description"] = "one of " + ", ".join(groups[name]) + " is required"
            out.append(param)
        return out

    def parameter(self, param: Param) -> dict[str, Any]:
        out: dict[str, Any] = {"name": param.name, "in": param.where}
        out["schema"] = self.schema(param.type)
        if param.required or param.where == "path":
            out["required"] = True
        if param.description:
            out["description"] = param.description
        return out

    def form(self, schema: dict[str, Any]) -> dict[str, Any]:
        """A form carries text or nothing: the Struct's schema without its `null`s."""
        component = self.components[_component_name(schema)]
        properties = {k: _not_null(v) for k, v in component["properties"].items()}
        return {**component, "properties": properties}

    def response(self, text: str, body: Body | None) -> dict[str, Any]:
        out: dict[str, Any] = {"description": text}
        if body:
            out["content"] = self.content(body)
        return out

    def content(self, body: Body, needs: dict[str, Any] | None = None) -> dict[str, Any]:
        return {media: {"schema": self.body_schema(body, media, needs)} for media in body.media}

    def body_schema(
        self, body: Body, media: str, needs: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        alternatives = []
        for type_, root in body.variants:
            schema = self.schema(type_)
            if media == FORM:
                schema = self.form(schema)
            schema = _with_needs(schema, needs or {})
            if media == XML:
                schema["xml"] = {"name": root or _component_name(schema)}
            alternatives.append(schema)
        return alternatives[0] if len(alternatives) == 1 else {"anyOf": alternatives}


def _needs(op: Operation) -> dict[str, Any]:
    """JSON Schema keywords for what the server requires of a body (beside the Struct's)."""
    out: dict[str, Any] = {}
    if op.required:
        out["required"] = list(op.required)
    if len(op.one_of) == 1:
        out["anyOf"] = [{"required": [name]} for name in op.one_of[0]]
    elif op.one_of:
        out["allOf"] = [{"anyOf": [{"required": [name]} for name in g]} for g in op.one_of]
    return out


def _with_needs(schema: dict[str, Any], needs: dict[str, Any]) -> dict[str, Any]:
    required = [*schema.get("required", []), *needs.get("required", [])]
    out = {**schema, **needs}
    if required:
        out["required"] = list(dict.fromkeys(required))
    return out


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query value is present (text) or absent: the Struct's `None` means absent."""
    options = [s for s in schema.get("anyOf", []) if s != {"type": "null"}]
    if not options:
        return schema
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    return {**rest, **options[0]} if len(options) == 1 else {**rest, "anyOf": options}


def _component_name(schema: dict[str, Any]) -> str:
    ref = str(schema.get("$ref", ""))
    return ref.rpartition("/")[2] or "value"


def _operation_id(op: Operation) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in op.path.strip("/"))
    return f"{op.method.lower()}_{cleaned}"


# -- /docs: the document as one self-contained HTML page ------------------------------------


def render_html(doc: dict[str, Any]) -> str:
    """Every operation with its parameters, bodies and answers, then every schema."""
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>smsaccounts API</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(doc['info']['title'])} API</h1><p>{e(doc['info']['description'])}</p>",
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a> (OpenAPI 3.1).</p>",
    ]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            parts.append(_html_operation(path, method, op))
    parts.append("<h2>Schemas</h2>")
    for name, schema in doc["components"]["schemas"].items():
        parts.append(f"<h3 id='{e(name)}'>{e(name)}</h3>{_html_schema(schema)}")
    parts.append("</body></html>")
    return "".join(parts)


def _html_operation(path: str, method: str, op: dict[str, Any]) -> str:
    e = html.escape
    out = [
        f"<section><h2><span class='m'>{e(method.upper())}</span> <code>{e(path)}</code></h2>",
        f"<p><b>{e(op['tags'][0])}</b>: {e(op['summary'])}</p>",
    ]
    if op.get("description"):
        out.append(f"<p>{e(op['description'])}</p>")
    if op.get("parameters"):
        rows = "".join(
            f"<tr><td><code>{e(p['name'])}</code></td><td>{e(p['in'])}</td>"
            f"<td>{'yes' if p.get('required') else 'no'}</td><td>{_html_type(p['schema'])}</td>"
            f"<td>{e(p.get('description', ''))}</td></tr>"
            for p in op["parameters"]
        )
        out.append(
            "<table><tr><th>parameter</th><th>in</th><th>required</th><th>type</th>"
            f"<th></th></tr>{rows}</table>"
        )
    if "requestBody" in op:
        out.append(f"<p>Request body: {_html_content(op['requestBody']['content'])}</p>")
    answers = "".join(
        f"<li><b>{e(status)}</b> {e(r['description'])} {_html_content(r.get('content', {}))}</li>"
        for status, r in op["responses"].items()
    )
    out.append(f"<ul>{answers}</ul></section>")
    return "".join(out)


def _html_content(content: dict[str, Any]) -> str:
    return "; ".join(
        f"<code>{html.escape(media)}</code> {_html_type(spec['schema'])}"
        for media, spec in content.items()
    )


def _html_type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = html.escape(_component_name(schema))
        return f"<a href='#{name}'>{name}</a>"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(_html_type(s) for s in schema[key])
    if "enum" in schema:
        return " | ".join(html.escape(repr(v)) for v in schema["enum"])
    if schema.get("type") == "array":
        return f"array of {_html_type(schema.get('items', {}))}"
    return html.escape(str(schema.get("type", "any")))


def _html_schema(schema: dict[str, Any]) -> str:
    properties = schema.get("properties")
    if not properties:
        return f"<p>{_html_type(schema)}</p>"
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{html.escape(name)}</code></td><td>{_html_type(prop)}</td>"
        f"<td>{'yes' if name in required else 'no'}</td></tr>"
        for name, prop in properties.items()
    )
    doc = html.escape(schema.get("description", ""))
    return f"<p>{doc}</p><table><tr><th>field</th><th>type</th><th>required</th></tr>{rows}</table>"


_CSS = (
    "body{font-family:sans-serif;max-width:960px;margin:2em auto;padding:0 1em}"
    "section{border-top:1px solid #ccc;padding:.5em 0}"
    "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}"
    ".m{background:#246;color:#fff;padding:0 6px;border-radius:3px}"
)
