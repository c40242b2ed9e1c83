"""The DingTalk / WeCom / SMS relays turn Alertmanager's webhook into each robot's message shape."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs, unquote, urlsplit

from station_controller.alerts import robots
from station_controller.alerts.schemas import WebhookBody
from tests.controller.api.core_fixtures import Api
from tests.support.alerting import RecordingReceiver, webhook_body

from .conftest import auth


def test_dingtalk_relay_posts_a_signed_markdown_message(alerts_api: Api, receiver: RecordingReceiver) -> None:
    reply = alerts_api.client.post(
        "/api/v1/alerts/relay/dingtalk", json=webhook_body(device="stb-a1"), headers=auth()
    )
    assert reply.json() == {"sent": 1}
    (posted,) = [r for r in receiver.received if r.path.startswith("/dingtalk")]
    assert posted.body["msgtype"] == "markdown"
    assert "DeviceOffline" in posted.body["markdown"]["title"]
    assert "stb-a1" in posted.body["markdown"]["text"]
    query = parse_qs(urlsplit(posted.path).query)
    secret = alerts_api.settings.alerts_dingtalk_secret.get_secret_value()
    ts = query["timestamp"][0]
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    )
    assert unquote(query["sign"][0]) == expected.decode()
    assert query["access_token"] == ["t"]


def test_wecom_relay_posts_markdown_content(alerts_api: Api, receiver: RecordingReceiver) -> None:
    alerts_api.client.post("/api/v1/alerts/relay/wecom", json=webhook_body(device="stb-a2"), headers=auth())
    (posted,) = receiver.bodies("/wecom")
    assert posted["msgtype"] == "markdown"
    assert "stb-a2" in posted["markdown"]["content"]


def test_sms_relay_uses_the_portal_sms_sender(alerts_api: Api) -> None:
    alerts_api.client.post("/api/v1/alerts/relay/sms", json=webhook_body(device="stb-a1"), headers=auth())
    outbox = (alerts_api.settings.data_dir / "sms-outbox.jsonl").read_text(encoding="utf-8").splitlines()
    last = json.loads(outbox[-1])
    assert (last["phone"], last["code"]) == ("13800138000", "DeviceOffline stb-a1")


def test_relay_needs_the_token(alerts_api: Api, receiver: RecordingReceiver) -> None:
    assert alerts_api.client.post("/api/v1/alerts/relay/wecom", json=webhook_body()).status_code == 401
    assert receiver.received == []


def test_wecom_message_stays_within_4096_bytes() -> None:
    body = webhook_body()
    body["alerts"][0]["annotations"]["summary"] = "村" * 1300
    body["alerts"] = [dict(body["alerts"][0], fingerprint=f"{i:x}") for i in range(30)]
    message = robots.wecom_message(WebhookBody.model_validate(body))
    assert len(message["markdown"]["content"].encode()) <= robots.WECOM_MAX_BYTES
    assert "more" in robots.dingtalk_message(WebhookBody.model_validate(body))["markdown"]["text"]
