"""Transports: for SMS, `log` keeps messages in the outbox only and `http` calls a URL
template; for alerts, `webhook` POSTs JSON to a URL and `email` sends through SMTP."""

from __future__ import annotations

import email.message
import ipaddress
import smtplib
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol

import structlog

from smsaccounts.config import Settings

log = structlog.get_logger(__name__)


class Transport(Protocol):
    name: str

    def send(self, *, to: str, text: str, sender: str) -> None: ...


class LogTransport:
    """Marks the message sent and logs that it was; the text stays in the outbox only."""

    name = "log"

    def send(self, *, to: str, text: str, sender: str) -> None:
        del sender  # the log line says to whom, never from or what
        log.info("sms handed to log transport", to_suffix=to[-3:], length=len(text))


class HttpTransport:
    """GET a URL template such as Kannel's or Jasmin's `send` URL; any 2xx is delivered.

    Placeholders: {to}, {text}, {sender}, each URL-encoded.
    """

    name = "http"

    def __init__(self, template: str, timeout: float = 10.0) -> None:
        if not template.startswith(("http://", "https://")):
            raise ValueError("SMSACCOUNTS_SMS_HTTP_URL must be an http(s) URL template")
        self.template = template
        self.timeout = timeout

    def send(self, *, to: str, text: str, sender: str) -> None:
        quote = urllib.parse.quote
        url = self.template.format(to=quote(to), text=quote(text), sender=quote(sender))
        request = urllib.request.Request(url, method="GET")  # noqa: S310 - scheme checked above
        _deliver(request, self.timeout, "transport")


class WebhookTransport:
    """POST the message (a JSON document) to the URL it names; any 2xx is delivered."""

    name = "webhook"

    def __init__(self, timeout: float = 10.0, *, private_addresses: bool = False) -> None:
        self.timeout = timeout
        self.private_addresses = private_addresses

    def send(self, *, to: str, text: str, sender: str) -> None:
        del sender
        if not to.startswith(("http://", "https://")):
            raise ValueError("a webhook goes to an http(s) URL")
        if not self.private_addresses:
            _refuse_non_public(to)
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            to,
            data=text.encode(),
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "smsaccounts"},
        )
        _deliver(request, self.timeout, "webhook")


def _deliver(request: urllib.request.Request, timeout: float, what: str) -> None:
    """Send `request`; any 2xx answer is delivered, anything else a ConnectionError that
    never echoes the URL (it may carry the message text)."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as error:
        error.close()
        status = error.code
    except OSError as error:
        raise ConnectionError(f"{what} request failed: {type(error).__name__}") from None
    if not 200 <= status < 300:
        raise ConnectionError(f"{what} answered HTTP {status}")


def _refuse_non_public(url: str) -> None:
    """A webhook URL set by a tenant must not reach inside the network (SSRF): every address
    its host resolves to must be public (SMSACCOUNTS_WEBHOOK_PRIVATE_ADDRESSES lifts this).
    The name is resolved again when the request connects; a resolver answering differently
    the second time is outside what this check covers."""
    parts = urllib.parse.urlsplit(url)
    try:
        found = socket.getaddrinfo(parts.hostname or "", parts.port or 80, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ConnectionError("webhook host does not resolve") from None
    for *_, address in found:
        if not ipaddress.ip_address(str(address[0]).split("%")[0]).is_global:
            raise ConnectionError("webhook host is not a public address")


class SmtpTransport:
    """Send the message as a plain-text e-mail through the SMTP server of
    `SMSACCOUNTS_SMTP_URL` (smtp://[user:password@]host:port, or smtps:// for TLS from the
    start), from `SMSACCOUNTS_SMTP_FROM`. `connect` builds the client (tests inject one)."""

    name = "email"
    subject = "Low-balance alert"

    def __init__(
        self,
        url: str,
        sender: str,
        *,
        timeout: float = 10.0,
        connect: Callable[..., Any] | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMSACCOUNTS_SMTP_URL must be an smtp://HOST:PORT URL")
        self.tls = parts.scheme.lower() == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.tls else 25)
        self.user = urllib.parse.unquote(parts.username or "")
        self.password = urllib.parse.unquote(parts.password or "")
        self.sender = sender
        self.timeout = timeout
        self.connect = connect or (smtplib.SMTP_SSL if self.tls else smtplib.SMTP)

    def message(self, *, to: str, text: str) -> email.message.EmailMessage:
        composed = email.message.EmailMessage()
        composed["From"] = self.sender
        composed["To"] = to
        composed["Subject"] = self.subject
        composed.set_content(text)
        return composed

    def send(self, *, to: str, text: str, sender: str) -> None:
        del sender  # an e-mail comes from SMSACCOUNTS_SMTP_FROM
        composed = self.message(to=to, text=text)
        try:
            with self.connect(self.host, self.port, timeout=self.timeout) as client:
                if self.user:
                    client.login(self.user, self.password)
                client.send_message(composed)
        except (OSError, smtplib.SMTPException) as error:
            # The server's reply may quote the address; the type is enough to retry on.
            raise ConnectionError(f"smtp delivery failed: {type(error).__name__}") from None


def make_channels(settings: Settings) -> dict[str, Transport]:
    """The transports of the messages that are not SMS: webhook always, e-mail when an SMTP
    server is configured."""
    webhook = WebhookTransport(private_addresses=settings.webhook_private_addresses)
    channels: dict[str, Transport] = {"webhook": webhook}
    if settings.smtp_url:
        channels["email"] = SmtpTransport(settings.smtp_url, settings.smtp_from)
    return channels


def make_transport(settings: Settings) -> Transport:
    if settings.sms_transport == "http":
        return HttpTransport(settings.sms_http_url)
    if settings.sms_transport == "log":
        return LogTransport()
    raise ValueError(f"unknown SMSACCOUNTS_SMS_TRANSPORT {settings.sms_transport!r}")
