"""Sign-in, sign-out, the list of one's sessions, and one's own password change."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from smsaccounts.console.messages import sentence
from smsaccounts.console.web import (
    PRE_COOKIE,
    SESSION_COOKIE,
    Console,
    Signed,
    checked_form,
    csrf_refused,
    redirect,
    session_of,
)
from smsaccounts.errors import AccessDenied, Blocked, DomainError
from smsaccounts.services import audit, console

# One answer for an unknown name, a wrong password and an account the console is not for,
# so that the page tells nothing about which names exist.
WRONG = "The account name or the password is wrong."


def sign_in_endpoint(c: Console) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        audit.begin("console", c.client_ip(request))
        if request.method == "GET" and await session_of(c, request) is not None:
            return RedirectResponse("/console/", status_code=303)
        pre = c.unsign(request.cookies.get(PRE_COOKIE))
        if request.method == "POST":
            form = await checked_form(request, c.csrf_for("pre:" + pre)) if pre else None
            if form is None or pre is None:
                return csrf_refused(c, request)
            return await _sign_in(
                c, request, str(form.get("name", "")), str(form.get("password", "")), pre
            )
        return _form(c, request, pre)

    return endpoint


def _form(
    c: Console,
    request: Request,
    pre: str | None,
    error: str = "",
    name: str = "",
    status: int = 200,
) -> Response:
    fresh = pre is None
    pre = pre or secrets.token_urlsafe(24)
    response = c.render(
        request,
        "sign_in.html",
        status=status,
        csrf=c.csrf_for("pre:" + pre),
        error=error,
        name=name,
    )
    if fresh:
        c.set_cookie(request, response, PRE_COOKIE, f"{pre}.{c.sign(pre)}")
    return response


async def _sign_in(c: Console, request: Request, name: str, password: str, pre: str) -> Response:
    try:
        _account, secret = await run_in_threadpool(
            console.sign_in,
            c.uow,
            name=name,
            password=password,
            client_ip=c.client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    except Blocked as error:
        return _form(c, request, pre, sentence(error), name, status=403)
    except AccessDenied as error:
        message = WRONG if error.code.value == "role_not_permitted" else sentence(error)
        return _form(c, request, pre, message, name, status=403)
    except DomainError:
        return _form(c, request, pre, WRONG, name, status=403)
    response = RedirectResponse("/console/", status_code=303)
    c.set_cookie(
        request,
        response,
        SESSION_COOKIE,
        f"{secret}.{c.sign(secret)}",
        max_age=c.uow.settings.console_session_seconds,
    )
    return response


def _signed_out(request: Request) -> Response:
    response = redirect(request, "/console/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/console", httponly=True, samesite="strict")
    return response


async def sign_out(c: Console, request: Request, signed: Signed) -> Response:
    await run_in_threadpool(
        console.sign_out, c.uow, account=signed.account, session_id=signed.session.id
    )
    return _signed_out(request)


async def sessions(
    c: Console, request: Request, signed: Signed, error: str = "", status: int = 200
) -> Response:
    found = await run_in_threadpool(console.sessions, c.uow, account=signed.account)
    return c.render(request, "sessions.html", status=status, me=signed, sessions=found, error=error)


async def end_sessions(c: Console, request: Request, signed: Signed) -> Response:
    which = str(request.state.form.get("session", "all"))
    session_id = int(which) if which.isdigit() else None
    await run_in_threadpool(
        console.end_sessions, c.uow, account=signed.account, session_id=session_id
    )
    if session_id is None or session_id == signed.session.id:
        return _signed_out(request)
    return redirect(request, "/console/sessions")


async def change_password(c: Console, request: Request, signed: Signed) -> Response:
    form = request.state.form
    new, again = str(form.get("new_password", "")), str(form.get("new_password_again", ""))
    if new != again:
        return await sessions(c, request, signed, "The two new passwords differ.", 400)
    try:
        await run_in_threadpool(
            console.change_own_password,
            c.uow,
            account=signed.account,
            current_password=str(form.get("current_password", "")),
            new_password=new,
            client_ip=c.client_ip(request),
        )
    except DomainError as error:
        message = sentence(error) if error.field else "The current password is wrong."
        return await sessions(c, request, signed, message, 400)
    return _signed_out(request)
