"""signing: the redirect carries an HMAC-SHA256 over gw|mac|ip|ts|url with the raw 32-byte key."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs, urlsplit

from station_agent.gateway.signing import MAX_URL, original_url, portal_redirect, sign

KEY = "0f" * 32


def test_known_answer_vector() -> None:
    # Fixed vector for the controller's verifier (docs/portal.md): recompute it there byte for byte.
    sig = sign(
        KEY, gw="rt-0001", mac="02:aa:bb:cc:dd:01", ip="10.77.1.2", ts=1700000000000, url="http://a.cn/"
    )
    assert sig == "72d939e479c3f1238266bf80f99ffcc8c3c97ec99af94169515c8cdf74b6ff73"


def test_key_is_the_raw_bytes_not_the_hex_text() -> None:
    message = b"g|m|i|1|u"
    with_text = hmac.new(KEY.encode(), message, hashlib.sha256).hexdigest()
    assert sign(KEY, gw="g", mac="m", ip="i", ts=1, url="u") != with_text


def test_redirect_query_round_trips_and_verifies() -> None:
    url = "http://news.example.cn/a?b=1&c=二"
    location = portal_redirect(
        "http://portal.example.cn/portal/",
        KEY,
        gw="rt-0001",
        mac="02:aa:bb:cc:dd:01",
        ip="10.77.1.2",
        url=url,
        ts=5,
    )
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "portal.example.cn", "/portal/")
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert list(q) == ["gw", "mac", "ip", "url", "ts", "sig"]
    assert q["url"] == url
    assert q["sig"] == sign(KEY, gw=q["gw"], mac=q["mac"], ip=q["ip"], ts=int(q["ts"]), url=q["url"])
    assert sign(KEY, gw="rt-0001", mac="02:aa:bb:cc:dd:01", ip="10.77.1.3", ts=5, url=url) != q["sig"]


def test_portal_url_with_query_gets_ampersand() -> None:
    location = portal_redirect("http://p.cn/x?lang=en", KEY, gw="g", mac="m", ip="i", url="u", ts=1)
    assert location.startswith("http://p.cn/x?lang=en&gw=g&")


def test_original_url_is_http_host_and_path() -> None:
    assert original_url("example.cn:8080", "/a/b?c=1", "1.2.3.4") == "http://example.cn:8080/a/b?c=1"


def test_odd_host_or_long_url_falls_back_to_destination() -> None:
    assert original_url(None, "/x", "1.2.3.4") == "http://1.2.3.4/"
    assert original_url("evil.cn/@other", "/x", "1.2.3.4") == "http://1.2.3.4/"
    assert original_url("a.cn", "/" + "x" * MAX_URL, "1.2.3.4") == "http://1.2.3.4/"
    assert original_url("a.cn", "/x y", "1.2.3.4") == "http://1.2.3.4/"
    assert original_url("a.cn", "relative", "1.2.3.4") == "http://a.cn/"
