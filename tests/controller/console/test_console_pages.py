"""Console pages: station list filters and counts, escaping, languages, station and device pages."""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from station_controller.registry import service as registry
from station_controller.settings import Settings


def _ids(html: str) -> set[str]:
    return set(re.findall(r'<tr data-device-id="([^"]+)"', html))


def test_list_shows_every_device_with_zh_labels_and_badges(operator: TestClient) -> None:
    page = operator.get("/console/")
    assert page.status_code == 200
    for label in ("站点列表", "区域", "标签", "角色", "在线状态", "代理版本", "搜索", "筛选"):
        assert label in page.text
    assert _ids(page.text) == {"stb-sn-a1", "router-sn-a2", "router-sn-b1", "stb-sn-c1"}
    assert 'data-testid="status-stb-sn-a1" data-state="online">在线<' in page.text
    assert 'data-testid="status-router-sn-a2" data-state="offline">离线<' in page.text
    assert re.search(r'id="count-online">2<', page.text)
    assert re.search(r'id="count-offline">2<', page.text)


def test_hostile_station_name_is_escaped(operator: TestClient, seeded: dict[str, Any]) -> None:
    for path in ("/console/", f"/console/stations/{seeded['b']}", "/console/devices/router-sn-b1"):
        page = operator.get(path)
        assert "<script>alert(" not in page.text, path
        assert "&lt;script&gt;alert(" in page.text, path


def test_region_filter_takes_the_subtree(operator: TestClient) -> None:
    page = operator.get("/console/", params={"region": "河南省/南阳市/唐河县"})
    assert _ids(page.text) == {"stb-sn-a1", "router-sn-a2", "router-sn-b1"}
    assert re.search(r'id="count-online">2<', page.text)
    assert re.search(r'id="count-offline">1<', page.text)
    prefix_only = operator.get("/console/", params={"region": "河南省/南阳市/唐河"})
    assert _ids(prefix_only.text) == set()  # a name prefix is not a subtree
    assert 'data-testid="no-results"' in prefix_only.text


def test_tag_role_state_version_and_search_filters(operator: TestClient) -> None:
    cases = {
        (("tag", "试点"),): {"stb-sn-a1", "router-sn-a2"},
        (("role", "router"),): {"router-sn-a2", "router-sn-b1"},
        (("state", "online"),): {"stb-sn-a1", "router-sn-b1"},
        (("state", "offline"),): {"router-sn-a2", "stb-sn-c1"},
        (("version", "1.2.0"),): {"stb-sn-a1", "router-sn-b1"},
        (("q", "新野"),): {"stb-sn-c1"},
        (("q", "SN-B1"),): {"router-sn-b1"},
        (("q", "100%"),): set(),  # LIKE wildcards are literal
        (("role", "stb"), ("state", "online")): {"stb-sn-a1"},
    }
    for params, expected in cases.items():
        page = operator.get("/console/", params=dict(params))
        assert page.status_code == 200
        assert _ids(page.text) == expected, params


def test_filter_form_keeps_choices_and_values(operator: TestClient) -> None:
    page = operator.get("/console/", params={"tag": "试点", "version": "1.2.0", "q": "王庄"})
    assert '<option value="试点" selected>' in page.text
    assert '<option value="1.2.0" selected>' in page.text
    assert '<option value="1.1.0">' in page.text
    assert '<option value="河南省/南阳市/新野县">' in page.text  # region datalist
    assert 'value="王庄"' in page.text


def test_pagination_keeps_filters(
    operator: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    with factory() as session:
        for n in range(30):
            registry.create_device(
                session, settings=settings, station_code="XY-001", role="router", serial=f"SN-P{n:02d}"
            )
    first = operator.get("/console/", params={"per_page": 25, "role": "router"})
    assert len(_ids(first.text)) == 25
    assert re.search(r'data-testid="total">32<', first.text)
    next_url = re.search(r'href="([^"]+)" data-testid="next"', first.text)
    assert next_url
    href = html.unescape(next_url.group(1))
    assert "role=router" in href
    assert "per_page=25" in href
    assert "page=2" in href
    second = operator.get(href)
    assert len(_ids(second.text)) == 7
    assert not _ids(first.text) & _ids(second.text)
    assert 'data-testid="next"' not in second.text
    far = operator.get("/console/", params={"page": 99, "per_page": 25})
    assert re.search(r"2 / 2", far.text)  # clamped to the last page
    odd = operator.get("/console/", params={"per_page": 7})  # unknown sizes fall back to 50
    assert len(_ids(odd.text)) == 34


def test_status_json_reports_presence_and_counts(operator: TestClient) -> None:
    data = operator.get(
        "/console/status.json", params={"ids": "stb-sn-a1,router-sn-a2", "role": "router"}
    ).json()
    assert data["devices"]["stb-sn-a1"]["online"] is True
    assert data["devices"]["router-sn-a2"]["online"] is False
    assert data["devices"]["stb-sn-a1"]["last_seen_at"]
    assert data["counts"] == {"online": 1, "offline": 1}


def test_english_by_query_then_cookie(operator: TestClient) -> None:
    page = operator.get("/console/", params={"lang": "en"})
    assert "Stations" in page.text
    assert '<html lang="en">' in page.text
    assert 'data-state="online">online<' in page.text
    assert operator.cookies.get("sf_lang") == "en"
    again = operator.get("/console/")
    assert "Agent version" in again.text
    back = operator.get("/console/", params={"lang": "zh"})
    assert "站点列表" in back.text


def test_station_page_shows_region_tags_and_latest_values(
    operator: TestClient, seeded: dict[str, Any]
) -> None:
    page = operator.get(f"/console/stations/{seeded['a']}")
    assert page.status_code == 200
    text = page.text
    assert "王庄村服务站" in text
    assert "河南省/南阳市/唐河县/王庄村" in text
    assert "试点" in text
    for label in ("最新数据", "内存", "磁盘", "运行时间", "温度", "下行", "上行"):
        assert label in text
    assert re.search(r'data-testid="latest-stb-sn-a1-cpu_pct">12.5 %<', text)
    assert re.search(r'data-testid="latest-stb-sn-a1-mem_pct">25.0 %<', text)
    assert re.search(r'data-testid="latest-stb-sn-a1-disk_pct">50.0 %<', text)
    assert re.search(r'data-testid="latest-stb-sn-a1-uptime_s">1d 2h<', text)
    assert re.search(r'data-testid="latest-stb-sn-a1-temp_c">48.2 °C<', text)
    assert re.search(r'data-testid="latest-stb-sn-a1-rx_bps">2.5 Mbit/s<', text)
    assert re.search(r'data-testid="latest-stb-sn-a1-tx_bps">640.0 kbit/s<', text)
    assert re.search(r'data-testid="latest-router-sn-a2-cpu_pct">–<', text)
    assert 'data-history-url="/api/v1/devices/stb-sn-a1/history"' in text
    assert "/console/static/chart.js?v=" in text


def test_station_live_json(operator: TestClient, seeded: dict[str, Any]) -> None:
    data = operator.get(f"/console/stations/{seeded['a']}/live.json").json()
    assert set(data) == {"stb-sn-a1", "router-sn-a2"}
    assert data["stb-sn-a1"]["latest"]["cpu_pct"] == 12.5
    assert data["stb-sn-a1"]["online"] is True
    assert data["router-sn-a2"]["latest"]["rx_bps"] is None


def test_device_page_details(viewer: TestClient) -> None:
    page = viewer.get("/console/devices/stb-sn-a1")
    assert page.status_code == 200
    for text in ("注册状态", "已注册", "1.2.0", "boot-123", "SN-A1", "命令记录", "暂无命令"):
        assert text in page.text
    pending = viewer.get("/console/devices/stb-sn-c1")
    assert "待注册" in pending.text


def test_unknown_ids_render_a_404_page(operator: TestClient) -> None:
    for path in ("/console/stations/999", "/console/devices/stb-nope"):
        page = operator.get(path)
        assert page.status_code == 404
        assert "未找到" in page.text
        assert page.headers["content-type"].startswith("text/html")


def test_pages_carry_security_headers(operator: TestClient) -> None:
    page = operator.get("/console/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"


def test_static_files_are_served_locally(client: TestClient) -> None:
    for name, media in (("console.css", "text/css"), ("live.js", "javascript"), ("chart.js", "javascript")):
        response = client.get(f"/console/static/{name}")
        assert response.status_code == 200
        assert media in response.headers["content-type"]
    assert client.get("/console/static/../routes.py").status_code == 404
    assert client.get("/console/static/nope.js").status_code == 404
    login = client.get("/console/login").text
    assert "http://" not in login.replace('xmlns="http://www.w3.org', "")  # no CDN
    assert "https://" not in login
