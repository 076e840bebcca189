"""ASGI middleware around every dialect: request bodies over the limit answer 413 early, and
plain-ASGI routes are found by their exact path."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

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
    slash, a root path) goes to the router unchanged.

    A path with parameters (LINK's `/v2/users.{fmt}`) goes to the router the first time it
    is asked for; when the router chose such a route's app, `learn` keeps its choice and the
    parameters it read, by method and path, and later requests for that path take them
    without the router (~36 µs of a LINK page's ~890, `bench.cpu`). The routes never change
    once the app is built and none depends on more than the method and the path, so the
    router would choose the same again.
    """

    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.table: dict[tuple[str, str], ASGIApp] = {}
        self.any_method: dict[str, ASGIApp] = {}
        # The apps of every-method routes with parameters, which the router's choice is kept
        # for, by identity (an app may define equality without a hash: Starlette's Router);
        # and its choices, with the parameters it read, by method and path.
        self.templated: dict[int, ASGIApp] = {}
        self.learned: dict[tuple[str, str], tuple[ASGIApp, dict[str, Any]]] = {}
        for path, route in _plain(routes, ""):
            if "{" in path:
                if route.methods is None:
                    self.templated[id(route.app)] = route.app
                continue
            if route.methods is None:
                self.any_method[path] = route.app
            for method in route.methods or ():
                self.table[(method, path)] = route.app

    def find(self, scope: Scope) -> ASGIApp | None:
        """The plain-ASGI app of the request's exact path, or of a path the router chose one
        for before (its parameters set in `scope`), if there is one."""
        if scope["type"] == "http" and not scope.get("root_path"):
            path = scope["path"]
            found = self.any_method.get(path) or self.table.get((scope["method"], path))
            if found is None and self.learned:
                learned = self.learned.get((scope["method"], path))
                if learned is not None:
                    scope["path_params"] = dict(learned[1])  # the app's own, as the router's
                    return learned[0]
            return found
        return None

    def learnable(self, scope: Scope) -> tuple[str, str] | None:
        """The key `learn` keeps the router's choice for `scope` by (None: never kept)."""
        if self.templated and scope["type"] == "http" and not scope.get("root_path"):
            return scope["method"], scope["path"]
        return None

    def learn(self, key: tuple[str, str], routed: Scope) -> None:
        """Keep the router's choice for `key` (`learnable`'s, taken before routing), read
        from the scope it routed: the app it chose, if that is a templated route's, and the
        parameters it read for it."""
        # Two objects alive at once never share an id, and `templated` keeps its apps alive.
        chosen = self.templated.get(id(routed.get("endpoint")))
        if chosen is None:
            return
        if len(self.learned) >= _LEARNED_MOST:  # a path per id (`/v2/user/{id}.json`)
            self.learned.clear()
        self.learned[key] = (chosen, dict(routed.get("path_params", {})))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.find(scope)
        if found is not None:
            await found(scope, receive, send)
            return
        await self.app(scope, receive, send)


# The router's choices kept at most (`ExactPaths.learn`): when full, it starts over.
_LEARNED_MOST = 4096


def _plain(routes: Sequence[BaseRoute], prefix: str) -> Iterator[tuple[str, Route]]:
    """The routes to a plain ASGI app (not a wrapped function), with their whole paths, under
    mounts without parameters."""
    for route in routes:
        if isinstance(route, Mount) and "{" not in route.path:
            yield from _plain(route.routes, prefix + route.path)
        elif isinstance(route, Route) and route.app is route.endpoint:
            yield prefix + route.path, route
