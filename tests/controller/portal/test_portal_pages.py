"""Splash checks (HMAC tampering, age), no open redirect, zh-CN / English pages escaping hostile input."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest

from tests.controller.portal.conftest import Portal, hidden_fields


@pytest.mark.parametrize("field", ["gw", "mac", "ip", "url", "ts"])
def test_a_tampered_splash_parameter_is_refused(portal: Portal, field: str) -> None:
    params = portal.splash_params()
    params[field] = {
        "gw": "router-other",
        "mac": "aa:bb:cc:00:00:66",
        "ip": "192.168.8.66",
        "url": "http://evil.example/",
        "ts": str(int(time.time() * 1000) + 1),
    }[field]
    reply = portal.client.get("/portal/?" + urlencode(params))
    assert reply.status_code == 403
    assert 'data-page="bad_signature"' in reply.text
    assert "login" not in hidden_fields(reply.text)


def test_an_old_or_unsigned_splash_is_refused(portal: Portal) -> None:
    old = portal.splash_params(ts=int((time.time() - 11 * 60) * 1000))
    assert portal.client.get("/portal/", params=old).status_code == 403
    unsigned = {k: v for k, v in portal.splash_params().items() if k != "sig"}
    assert portal.client.get("/portal/", params=unsigned).status_code == 403
    assert portal.client.get("/portal/").status_code == 403


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "//evil.example/x", "/relative", "data:text/html,hi", "http:///nohost"]
)
def test_only_an_absolute_http_url_is_offered_after_login(portal: Portal, url: str) -> None:
    reply = portal.sms_login(url=url)
    assert reply.status_code == 200
    assert 'data-testid="connected"' in reply.text
    assert 'data-testid="original-url"' not in reply.text
    assert "evil.example" not in reply.text
    assert "javascript:" not in reply.text


def test_no_redirect_target_is_taken_from_the_login_forms(portal: Portal) -> None:
    form = portal.open(url="http://example.cn/wanted")
    portal.client.post("/portal/sms/send", data={**form, "phone": "13800138000"})
    data = {
        **form,
        "phone": "13800138000",
        "code": portal.last_code("13800138000"),
        "accept_terms": "1",
        "url": "http://evil.example/",
        "next": "http://evil.example/",
    }
    reply = portal.client.post(
        "/portal/sms/verify?url=http://evil.example/", data=data, follow_redirects=False
    )
    assert reply.status_code == 200
    assert "location" not in reply.headers
    assert "evil.example" not in reply.text
    assert 'href="http://example.cn/wanted"' in reply.text


def test_pages_render_in_chinese_by_default_and_english_on_request(portal: Portal) -> None:
    zh = portal.client.get("/portal/", params=portal.splash_params())
    assert '<html lang="zh-CN">' in zh.text
    assert "获取验证码" in zh.text
    en = portal.client.get("/portal/", params={**portal.splash_params(), "lang": "en"})
    assert '<html lang="en">' in en.text
    assert "Send code" in en.text
    assert "script-src" not in en.headers["content-security-policy"]  # default-src 'none': no script at all
    assert en.headers["x-frame-options"] == "DENY"
    for page in ("/portal/terms?lang=en", "/portal/message?m=quota&lang=en", "/portal/message?m=unreachable"):
        assert portal.client.get(page).status_code == 200
    assert "Data quota used up" in portal.client.get("/portal/message?m=quota&lang=en").text
    assert "暂时无法连接" in portal.client.get("/portal/message?m=unreachable&lang=zh").text  # cookie said en


def test_hostile_input_is_escaped(portal: Portal) -> None:
    hostile = '"><script>alert(1)</script>'
    page = portal.client.get("/portal/", params={**portal.splash_params(), "gw": hostile})
    assert "<script>alert(1)" not in page.text
    form = portal.open()
    reply = portal.client.post("/portal/sms/send", data={**form, "phone": hostile, "lang": "en"})
    assert reply.status_code == 422
    assert "<script>alert(1)" not in reply.text
    assert "&lt;script&gt;" in reply.text
    url = 'http://example.cn/"><script>alert(1)</script>'
    done = portal.sms_login(url=url)
    assert "<script>alert(1)" not in done.text
    assert "<script>" not in portal.client.get("/portal/message", params={"m": hostile}).text


def test_language_switch_keeps_the_login(portal: Portal) -> None:
    form = portal.open()
    reply = portal.client.post("/portal/resume", data={**form, "lang": "en"})
    assert reply.status_code == 200
    assert "Send code" in reply.text
    assert hidden_fields(reply.text)["login"] == form["login"]
