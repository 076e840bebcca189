"""ASGI middleware around every dialect: request bodies over the limit answer 413 early, and
plain-ASGI routes are found by their exact path."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_TOO_LARGE = b'{"error":"request body too large"}'


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuse bodies over `max_bytes`: by Content-Length before reading, else while streaming.

    A chunked body is counted as it arrives, so a client cannot make the server buffer
    more than the limit however it frames the request.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = _framing(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(send)
            return
        if declared is not None and not chunked:
            # The server reads no more than a declared length (h11 and httptools frame the
            # body by it), so there is nothing to count: the two wrappers below cost ~2 µs a
            # request. With Transfer-Encoding as well, h11 frames by that instead: counted.
            await self.app(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _refuse(send)


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """The declared Content-Length (None: absent or unreadable), and whether the request
    names a Transfer-Encoding too."""
    declared, chunked = None, False
    for name, value in scope["headers"]:
        if name == b"content-length" and declared is None:
            try:
                declared = int(value)
            except ValueError:
                return None, False  # unreadable: counted as it arrives, as if absent
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked


async def _refuse(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_TOO_LARGE)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _TOO_LARGE})


class ExactPaths:
    """Requests for a plain-ASGI route's exact path go straight to its app.

    Starlette's router tries every route in turn and wraps function endpoints in a Request
    and a Response; an endpoint written as an ASGI app needs neither, and a dict lookup
    finds it. A route that serves every method (the dialects' endpoints, which answer a
    wrong method in their own shape) is found by its path alone. Anything else (a trailing
    slash, a path with parameters, a root path) goes to the router unchanged.
    """

    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.table: dict[tuple[str, str], ASGIApp] = {}
        self.any_method: dict[str, ASGIApp] = {}
        for methods, path, endpoint in _exact(routes, ""):
            if methods is None:
                self.any_method[path] = endpoint
            for method in methods or ():
                self.table[(method, path)] = endpoint

    def find(self, scope: Scope) -> ASGIApp | None:
        """The plain-ASGI app of the request's exact path, if there is one."""
        if scope["type"] == "http" and not scope.get("root_path"):
            path = scope["path"]
            return self.any_method.get(path) or self.table.get((scope["method"], path))
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.find(scope)
        if found is not None:
            await found(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _exact(
    routes: Sequence[BaseRoute], prefix: str
) -> Iterator[tuple[set[str] | None, str, ASGIApp]]:
    for route in routes:
        if isinstance(route, Mount) and "{" not in route.path:
            yield from _exact(route.routes, prefix + route.path)
        elif (
            isinstance(route, Route)
            and route.app is route.endpoint  # a plain ASGI app, not a wrapped function
            and "{" not in route.path
        ):
            yield route.methods, prefix + route.path, route.app
