"""SMS delivery behind a small Protocol: a log/outbox provider (default) and a generic signed HTTP one.

The log provider appends one JSON line per code to ``{data_dir}/sms-outbox.jsonl``::

    {"phone": "13800138000", "code": "123456", "ts": 1718000000000}

(``ts`` in ms). Tests and staff dry runs read the last line for a phone to log in as that phone.
This module is the portal's only importer of httpx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import httpx

from ..errors import ControllerError
from ..settings import Settings

log = logging.getLogger(__name__)
OUTBOX_NAME = "sms-outbox.jsonl"
SIGNATURE_HEADER = "X-Station-Signature"
TIMESTAMP_HEADER = "X-Station-Timestamp"


class SmsDeliveryFailed(ControllerError):
    code = "sms_delivery_failed"
    status = 502
    retryable = True
    page = "sms_failed"


class SmsSender(Protocol):
    """Delivers one code; raises SmsDeliveryFailed when the provider refused or did not answer."""

    def send(self, *, phone: str, code: str) -> None: ...


def mask(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


class OutboxSmsSender:
    """Logs a masked line and appends ``{"phone","code","ts"}`` to the outbox file (no real SMS)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, *, phone: str, code: str) -> None:
        line = json.dumps({"phone": phone, "code": code, "ts": int(time.time() * 1000)}) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line)
        log.info("sms code for %s written to %s", mask(phone), self.path)


class HttpSmsSender:
    """POSTs ``{"phone","code","ts"}`` to ``url_template`` (``{phone}``/``{code}`` substituted).

    The body is signed: ``X-Station-Signature: sha256=<hex HMAC-SHA256(secret, "{ts}.{body}")>`` with
    ``X-Station-Timestamp: {ts}``, so the gateway can refuse forged or replayed requests.
    """

    def __init__(self, *, url_template: str, secret: str, timeout_s: float) -> None:
        self._template = url_template
        self._secret = secret.encode()
        self._timeout = timeout_s

    def send(self, *, phone: str, code: str) -> None:
        ts = str(int(time.time() * 1000))
        body = json.dumps({"phone": phone, "code": code, "ts": int(ts)}).encode()
        signature = hmac.new(self._secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        url = self._template.format(phone=quote(phone, safe=""), code=quote(code, safe=""))
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: f"sha256={signature}",
            TIMESTAMP_HEADER: ts,
        }
        try:
            reply = httpx.post(url, content=body, headers=headers, timeout=self._timeout)
        except httpx.HTTPError as exc:
            log.warning("sms gateway unreachable for %s: %s", mask(phone), exc)
            raise SmsDeliveryFailed("the SMS gateway did not answer; try again in a minute") from None
        if reply.status_code >= 300:
            log.warning("sms gateway refused %s: HTTP %d", mask(phone), reply.status_code)
            raise SmsDeliveryFailed(f"the SMS gateway refused the message (HTTP {reply.status_code})")
        log.info("sms code for %s sent through the HTTP gateway", mask(phone))


def build_sender(settings: Settings) -> SmsSender:
    """The provider named by ``portal_sms_provider`` (``log`` or ``http``)."""
    if settings.portal_sms_provider == "http":
        if not settings.portal_sms_http_url:
            raise ControllerError("STATION_PORTAL_SMS_HTTP_URL is required with the http SMS provider")
        return HttpSmsSender(
            url_template=settings.portal_sms_http_url,
            secret=settings.portal_sms_http_secret.get_secret_value(),
            timeout_s=settings.portal_sms_http_timeout_s,
        )
    if settings.portal_sms_provider != "log":
        raise ControllerError("STATION_PORTAL_SMS_PROVIDER must be 'log' or 'http'")
    return OutboxSmsSender(settings.data_dir / OUTBOX_NAME)
