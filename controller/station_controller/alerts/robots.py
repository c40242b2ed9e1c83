"""Group-robot notifications: Alertmanager's webhook body turned into DingTalk and WeCom messages.

DingTalk (钉钉自定义机器人): ``{"msgtype": "markdown", "markdown": {"title", "text"}}``, signed when the
robot uses 加签: ``&timestamp={ms}&sign={urlencoded base64 HMAC-SHA256(secret, "{ms}\\n{secret}")}``.
WeCom (企业微信群机器人): ``{"msgtype": "markdown", "markdown": {"content"}}`` (content ≤ 4096 bytes).
Both answer HTTP 200 with ``{"errcode": 0}`` on success; anything else is a RelayFailed, which the route
turns into a 5xx so Alertmanager retries the notification.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from typing import Any
from urllib.parse import quote

import httpx

from .errors import RelayFailed
from .schemas import WebhookAlert, WebhookBody

log = logging.getLogger(__name__)
WECOM_MAX_BYTES = 4096
DINGTALK_MAX_CHARS = 18_000
MAX_LISTED = 20  # alerts listed in one message; the rest are counted


def _line(alert: WebhookAlert) -> str:
    name = alert.labels.get("alertname", "alert")
    device = alert.labels.get("device", "")
    summary = alert.annotations.get("summary", "")[:200]
    mark = "🔴" if alert.status == "firing" else "✅"
    return f"- {mark} **{name}** {device} {summary}".rstrip()


def _lines(body: WebhookBody) -> tuple[str, list[str]]:
    firing = sum(1 for a in body.alerts if a.status == "firing")
    resolved = len(body.alerts) - firing
    title = f"[{body.status.upper()}] {body.groupLabels.get('alertname', 'Station Fleet')}"
    head = f"告警 firing: {firing} · 恢复 resolved: {resolved}"
    lines = [_line(a) for a in body.alerts[:MAX_LISTED]]
    more = len(body.alerts) - MAX_LISTED + body.truncatedAlerts
    if more > 0:
        lines.append(f"- … {more} more")
    return title, [head, *lines]


def dingtalk_message(body: WebhookBody) -> dict[str, Any]:
    title, lines = _lines(body)
    text = f"### {title}\n\n" + "\n".join(lines)
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text[:DINGTALK_MAX_CHARS]}}


def wecom_message(body: WebhookBody) -> dict[str, Any]:
    title, lines = _lines(body)
    content = f"### {title}\n" + "\n".join(lines)
    raw = content.encode("utf-8")[:WECOM_MAX_BYTES]
    return {"msgtype": "markdown", "markdown": {"content": raw.decode("utf-8", errors="ignore")}}


def sms_text(body: WebhookBody) -> str:
    """One short line for a text message (the SMS provider's template carries it as the code)."""
    firing = [a for a in body.alerts if a.status == "firing"]
    first = firing[0] if firing else body.alerts[0]
    name, device = first.labels.get("alertname", "alert"), first.labels.get("device", "")
    extra = f" +{len(firing) - 1}" if len(firing) > 1 else ""
    return f"{name} {device}{extra}".strip()[:60]


def dingtalk_signed_url(url: str, secret: str, *, now_ms: int | None = None) -> str:
    if not secret:
        return url
    ts = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    sign = quote(base64.b64encode(digest).decode(), safe="")
    return f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={sign}"


def post_robot(url: str, message: dict[str, Any], *, timeout_s: float) -> None:
    """POST one robot message; raises RelayFailed unless the robot answered ``errcode`` 0."""
    try:
        reply = httpx.post(url, json=message, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise RelayFailed(f"robot did not answer: {exc}") from exc
    try:
        errcode = reply.json().get("errcode", -1) if reply.is_success else -1
    except ValueError:
        errcode = -1
    if errcode != 0:
        raise RelayFailed(f"robot answered {reply.status_code}: {reply.text[:200]}")
    log.info("robot message delivered to %s", url.split("?", 1)[0])
