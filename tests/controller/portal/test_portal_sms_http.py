"""The HTTP SMS provider against a local http.server: URL template, signed body, errors, timeouts."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from station_controller.portal.sms import SIGNATURE_HEADER, TIMESTAMP_HEADER, HttpSmsSender, SmsDeliveryFailed

SECRET = "sms-gateway-shared-secret"


class _Gateway(HTTPServer):
    status = 200
    received: list[dict[str, Any]]


class _Handler(BaseHTTPRequestHandler):
    server: _Gateway

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.received.append({"path": self.path, "body": body, "headers": dict(self.headers)})
        self.send_response(self.server.status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[_Gateway]:
    server = _Gateway(("127.0.0.1", 0), _Handler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _sender(server: HTTPServer, **kwargs: Any) -> HttpSmsSender:
    port = server.server_address[1]
    template = f"http://127.0.0.1:{port}/send?to={{phone}}&tpl=login"
    return HttpSmsSender(url_template=template, secret=SECRET, timeout_s=kwargs.get("timeout_s", 5.0))


def test_posts_a_signed_json_body_to_the_templated_url(gateway: _Gateway) -> None:
    _sender(gateway).send(phone="13800138000", code="123456")
    [request] = gateway.received
    assert request["path"] == "/send?to=13800138000&tpl=login"
    body = json.loads(request["body"])
    assert (body["phone"], body["code"]) == ("13800138000", "123456")
    headers = {k.lower(): v for k, v in request["headers"].items()}
    ts = headers[TIMESTAMP_HEADER.lower()]
    expected = hmac.new(SECRET.encode(), ts.encode() + b"." + request["body"], hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER.lower()] == f"sha256={expected}"


def test_a_refusal_or_no_answer_is_a_retryable_delivery_failure(gateway: _Gateway) -> None:
    gateway.status = 500
    with pytest.raises(SmsDeliveryFailed) as failed:
        _sender(gateway).send(phone="13800138000", code="123456")
    assert failed.value.retryable
    assert "HTTP 500" in failed.value.detail
    closed = HTTPServer(("127.0.0.1", 0), _Handler)
    closed.server_close()  # nothing listens on this port any more
    with pytest.raises(SmsDeliveryFailed):
        _sender(closed, timeout_s=2.0).send(phone="13800138000", code="123456")
