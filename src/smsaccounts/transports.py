"""SMS transports: `log` keeps messages in the outbox only; `http` calls a URL template."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from typing import Protocol

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
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as error:
            error.close()
            status = error.code
        except OSError as error:
            # Never echo the URL: it carries the message text.
            raise ConnectionError(f"transport request failed: {type(error).__name__}") from None
        if not 200 <= status < 300:
            raise ConnectionError(f"transport answered HTTP {status}")


def make_transport(settings: Settings) -> Transport:
    if settings.sms_transport == "http":
        return HttpTransport(settings.sms_http_url)
    if settings.sms_transport == "log":
        return LogTransport()
    raise ValueError(f"unknown SMSACCOUNTS_SMS_TRANSPORT {settings.sms_transport!r}")
