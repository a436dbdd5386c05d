"""The dashboard's guards, as ASGI middleware so that every route gets them, present and future.

* :class:`BodyLimit`: request bodies larger than the limit are refused with 413, whether the size
  is declared (``Content-Length``) or only discovered while reading a chunked body.
* :class:`WriteGuard`: every state-changing request (any method but GET, HEAD and OPTIONS) must
  come from the dashboard's own origin (``Sec-Fetch-Site``, ``Origin`` and ``Referer`` are
  checked against the ``Host`` the request was sent to: a cross-site request forgery check) and
  carry a write token, as ``Authorization: Bearer <token>`` or as the ``token`` field of a
  URL-encoded form. Tokens are checked by :meth:`Registry.verify_token` (SHA-256 digests compared
  with :func:`hmac.compare_digest`). Missing token: 401; wrong token or cross-site: 403.
* :class:`SecurityHeaders`: a strict Content-Security-Policy (scripts only from the dashboard
  itself, no framing), ``nosniff``, and a same-origin referrer policy.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio

__all__ = [
    "CSP",
    "SAFE_METHODS",
    "BodyLimit",
    "SecurityHeaders",
    "WriteGuard",
    "same_origin",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that never change state; every other method goes through :class:`WriteGuard`."""

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
"""Content-Security-Policy of every response (inline styles: the SVG figures use them)."""


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in scope.get("headers", []):
        out[key.decode("latin-1").lower()] = value.decode("latin-1")
    return out


async def _send_json(send: Send, status: int, detail: str,
                     extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode("utf-8")
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode("ascii")), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    """A request body grew past the limit while being read."""


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 Payload Too Large.

    Parameters
    ----------
    app : ASGI application
    max_bytes : int
        Largest body accepted.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _headers(scope).get("content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _send_json(send, 400, "Content-Length is not a number.")
                return
            if size > self.max_bytes:
                await _send_json(send, 413, f"Request body too large: {size} bytes; the limit "
                                            f"is {self.max_bytes}.")
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_json(send, 413, f"Request body too large; the limit is "
                                            f"{self.max_bytes} bytes.")


def same_origin(headers: dict[str, str], scheme: str) -> tuple[bool, str]:
    """Whether a state-changing request comes from the server's own origin.

    Parameters
    ----------
    headers : dict
        Lower-case header names to values.
    scheme : str
        ``http`` or ``https``, as the server received the request.

    Returns
    -------
    (bool, str)
        The decision and, when refused, why. Browsers send ``Sec-Fetch-Site`` and ``Origin``
        with every cross-site POST; a request with neither ``Origin``, ``Referer`` nor
        ``Sec-Fetch-Site`` does not come from a browser page (a script with a token) and is
        allowed through to the token check.
    """
    host = headers.get("host", "").strip().lower()
    own = f"{scheme}://{host}"
    site = headers.get("sec-fetch-site")
    if site is not None and site.lower() not in ("same-origin", "none"):
        return False, f"cross-site request refused (Sec-Fetch-Site: {site})."
    origin = headers.get("origin")
    if origin is not None:
        if origin.strip().lower() != own:
            return False, "cross-origin request refused (Origin does not match the dashboard)."
        return True, ""
    referer = headers.get("referer")
    if referer is not None:
        parts = urlsplit(referer)
        if f"{parts.scheme}://{parts.netloc}".lower() != own:
            return False, "cross-origin request refused (Referer does not match the dashboard)."
    return True, ""


class WriteGuard:
    """Require the same origin and a valid write token for every state-changing request.

    Parameters
    ----------
    app : ASGI application
    verify : callable
        ``verify(secret) -> bool``; :meth:`Registry.verify_token`.
    has_token : callable
        ``has_token() -> bool``; whether any write token exists at all.
    max_bytes : int
        Largest form body read to find a ``token`` field.
    """

    def __init__(self, app: ASGIApp, *, verify: Callable[[str], bool],
                 has_token: Callable[[], bool], max_bytes: int) -> None:
        self.app = app
        self.verify = verify
        self.has_token = has_token
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"].upper() in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        ok, reason = same_origin(headers, scope.get("scheme", "http"))
        if not ok:
            await _send_json(send, 403, reason)
            return
        secret = None
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            secret = auth[7:].strip()
        body_messages: list[Message] = []
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if secret is None and ctype == "application/x-www-form-urlencoded":
            body = b""
            more = True
            while more:
                message = await receive()
                body_messages.append(message)
                if message["type"] != "http.request":
                    break
                body += message.get("body", b"")
                more = bool(message.get("more_body", False))
                if len(body) > self.max_bytes:
                    await _send_json(send, 413, "Request body too large.")
                    return
            fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=50)
            values = fields.get("token")
            secret = values[0].strip() if values else None
        if not secret:
            await _send_json(send, 401, "A write token is needed for this request: send "
                                        "'Authorization: Bearer <token>' or a 'token' form "
                                        "field. Tokens are printed by `consilience init` "
                                        "(--new-token issues another).",
                             [(b"www-authenticate", b'Bearer realm="consilience"')])
            return
        valid = await anyio.to_thread.run_sync(self._check, secret)
        if not valid:
            await _send_json(send, 403, "The write token is not valid (unknown or revoked).")
            return
        if body_messages:
            replay = list(body_messages)

            async def replay_receive() -> Message:
                if replay:
                    return replay.pop(0)
                return await receive()

            await self.app(scope, replay_receive, send)
            return
        await self.app(scope, receive, send)


    def _check(self, secret: str) -> bool:
        return bool(self.has_token() and self.verify(secret))


class SecurityHeaders:
    """Add the Content-Security-Policy and related headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for key, value in ((b"content-security-policy", CSP.encode("ascii")),
                                   (b"x-content-type-options", b"nosniff"),
                                   (b"referrer-policy", b"same-origin"),
                                   (b"x-frame-options", b"DENY"),
                                   (b"cross-origin-opener-policy", b"same-origin")):
                    if key not in names:
                        headers.append((key, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
