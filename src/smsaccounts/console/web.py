"""The console's plumbing: the mount, security headers, the session cookie, CSRF, rendering.

Every console response carries a strict Content-Security-Policy (scripts and styles from
this origin only, no inline script, no framing), X-Frame-Options DENY and no caching. The
session cookie is `<secret>.<HMAC>`: HttpOnly, SameSite=Strict, Secure when the request
came over TLS. Every POST carries a CSRF token bound to the session (or, before sign-in,
to a pre-session cookie) and is refused with 403 without it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smsaccounts import logs
from smsaccounts.dialects import wire
from smsaccounts.domain import money, network
from smsaccounts.domain.console import ConsoleSession
from smsaccounts.domain.models import Account
from smsaccounts.domain.network import parse_ranges
from smsaccounts.services import audit, console
from smsaccounts.storage.unit_of_work import UnitOfWork

HERE = Path(__file__).parent
SESSION_COOKIE = "smsaccounts_console"
PRE_COOKIE = "smsaccounts_console_pre"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class SecurityHeaders:
    """Adds the console's security headers to every response under the mount."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.decode().lower() not in HEADERS
                ]
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Console:
    """What every console handler shares: the unit of work, the signing key, templates."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        settings = uow.settings
        self.key = (settings.console_secret or secrets.token_hex(32)).encode()
        self.trusted = parse_ranges(settings.trusted_proxies)
        self.trusted_text = settings.trusted_proxies
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True),
            auto_reload=False,
        )
        self.templates.filters["money"] = money.format_amount
        self.templates.filters["when"] = lambda t: t.strftime("%Y-%m-%d %H:%M:%S") if t else ""
        self.stats_cache: dict[int, tuple[float, Any]] = {}

    # -- signing ---------------------------------------------------------------------------

    def sign(self, value: str) -> str:
        return hmac.new(self.key, value.encode(), hashlib.sha256).hexdigest()

    def unsign(self, cookie: str | None) -> str | None:
        if not cookie or "." not in cookie:
            return None
        value, _, mac = cookie.rpartition(".")
        return value if hmac.compare_digest(mac, self.sign(value)) else None

    def csrf_for(self, secret: str) -> str:
        return self.sign("csrf:" + secret)

    # -- requests --------------------------------------------------------------------------

    def client_ip(self, request: Request) -> str | None:
        return wire.client_ip(request.scope, self.trusted)

    def over_tls(self, request: Request) -> bool:
        """TLS to this server, or to a trusted proxy that says so (X-Forwarded-Proto)."""
        if request.url.scheme == "https":
            return True
        peer = request.client.host if request.client else None
        proxied = peer is not None and network.ip_allowed(self.trusted_text, peer)
        forwarded = request.headers.get("x-forwarded-proto", "").split(",")[-1].strip()
        return bool(self.trusted_text) and proxied and forwarded == "https"

    def render(
        self, request: Request, template_name: str, status: int = 200, **context: Any
    ) -> Response:
        template = self.templates.get_template(template_name)
        html = template.render(request=request, **context)
        return HTMLResponse(html, status_code=status)

    def set_cookie(
        self,
        request: Request,
        response: Response,
        name: str,
        value: str,
        max_age: int | None = None,
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/console",
            httponly=True,
            samesite="strict",
            secure=self.over_tls(request),
        )


def redirect(request: Request, url: str) -> Response:
    """303 to `url`; for htmx (which would follow a 303 unseen) an HX-Location instead, so
    that it loads `url` itself and shows it in the address bar."""
    if request.headers.get("hx-request") == "true":
        return Response(status_code=200, headers={"HX-Location": url})
    return RedirectResponse(url, status_code=303)


class Signed:
    """The signed-in account of a request, its session and the CSRF token for its forms."""

    def __init__(self, account: Account, session: ConsoleSession, csrf: str) -> None:
        self.account = account
        self.session = session
        self.csrf = csrf


Handler = Callable[[Console, Request, Signed], Awaitable[Response]]


def not_found(c: Console, request: Request, signed: Signed | None = None) -> Response:
    return c.render(request, "not_found.html", status=404, me=signed)


async def session_of(c: Console, request: Request) -> Signed | None:
    secret = c.unsign(request.cookies.get(SESSION_COOKIE))
    if secret is None:
        return None
    found = await run_in_threadpool(
        console.current, c.uow, secret=secret, client_ip=c.client_ip(request)
    )
    if found is None:
        return None
    return Signed(found[0], found[1], c.csrf_for(secret))


async def checked_form(request: Request, csrf: str) -> FormData | None:
    """The form, if it carries the expected CSRF token (None: refuse the request)."""
    form = await request.form()
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf):
        return None
    return form


def csrf_refused(c: Console, request: Request) -> Response:
    return c.render(request, "refused.html", status=403)


def page(c: Console, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A handler for signed-in users: others go to the sign-in page; a POST needs its CSRF
    token; the audit log names the console door, the client and the account."""

    async def endpoint(request: Request) -> Response:
        audit.begin("console", c.client_ip(request))
        signed = await session_of(c, request)
        if signed is None:
            if request.method == "POST":
                return csrf_refused(c, request)
            return redirect(request, "/console/sign-in")
        logs.note_caller(signed.account.id)
        audit.note_actor(signed.account.id)
        if request.method == "POST":
            form = await checked_form(request, signed.csrf)
            if form is None:
                return csrf_refused(c, request)
            request.state.form = form
        return await handler(c, request, signed)

    return endpoint


def mount(uow: UnitOfWork) -> list[Route | Mount]:
    """The console's routes, for `create_app`."""
    from smsaccounts.console import actions, pages, signin

    c = Console(uow)
    routes = [
        Route("/", page(c, pages.dashboard), methods=["GET"]),
        Route("/sign-in", signin.sign_in_endpoint(c), methods=["GET", "POST"]),
        Route("/sign-out", page(c, signin.sign_out), methods=["POST"]),
        Route("/sessions", page(c, signin.sessions), methods=["GET"]),
        Route("/sessions/end", page(c, signin.end_sessions), methods=["POST"]),
        Route("/password", page(c, signin.change_password), methods=["POST"]),
        Route("/tree", page(c, pages.tree), methods=["GET"]),
        Route("/outbox", page(c, pages.outbox), methods=["GET"]),
        Route("/audit", page(c, pages.audit_log), methods=["GET"]),
        Route("/accounts/{account_id:int}", page(c, pages.account), methods=["GET"]),
        *[
            Route(f"/accounts/{{account_id:int}}/{name}", page(c, action), methods=["POST"])
            for name, action in actions.ACTIONS.items()
        ],
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[])
    app.router.redirect_slashes = False

    async def missing(scope: Scope, receive: Receive, send: Send) -> None:
        await not_found(c, Request(scope, receive))(scope, receive, send)

    app.router.default = missing

    async def to_slash(_request: Request) -> Response:
        return RedirectResponse("/console/", status_code=308)

    return [
        Route("/console", to_slash, methods=["GET"]),
        Mount("/console", app=SecurityHeaders(app)),
    ]
