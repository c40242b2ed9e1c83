"""Features plug themselves in: discovery of ``feature.py`` modules and what main/composition do with them."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from station_controller.plugins import Feature, NavLink, discover_features, nav_links
from tests.controller.api.core_fixtures import make_settings


def test_every_controller_feature_is_discovered_in_order() -> None:
    features = discover_features()
    names = [f.name for f in features]
    assert {
        "auth",
        "registry",
        "commands",
        "portal",
        "content",
        "campaigns",
        "provisioning",
        "console",
    } <= set(names)
    assert [f.order for f in features] == sorted(f.order for f in features)


def test_the_content_feature_provides_the_campaign_payload_and_portal_its_handler(
    tmp_path: Path, sqlite_url: str
) -> None:
    settings = make_settings(tmp_path, sqlite_url)
    features = {f.name: f for f in discover_features()}
    content, portal = features["content"], features["portal"]
    assert content.payloads is not None
    assert [p.kind for p in content.payloads(settings)] == ["content"]
    assert portal.event_handlers is not None
    assert portal.payloads is None


def _write_package(root: Path, name: str, features: dict[str, str]) -> None:
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for sub, body in features.items():
        (pkg / sub).mkdir()
        (pkg / sub / "__init__.py").write_text("")
        (pkg / sub / "feature.py").write_text(textwrap.dedent(body))


def test_a_new_package_with_feature_py_is_found_without_editing_a_hub(tmp_path: Path) -> None:
    _write_package(
        tmp_path,
        "plugdemo_a",
        {
            "beta": """
                from station_controller.plugins import Feature, NavLink
                LINK = NavLink("/console/beta/", "乙", "Beta", order=2)
                FEATURE = Feature(name="beta", order=5, nav=(LINK,))
            """,
            "alpha": """
                from station_controller.plugins import Feature
                FEATURE = Feature(name="alpha", order=7)
            """,
            "nofeature": "",
        },
    )
    (tmp_path / "plugdemo_a" / "nofeature" / "feature.py").unlink()
    sys.path.insert(0, str(tmp_path))
    try:
        found = discover_features("plugdemo_a")
    finally:
        sys.path.remove(str(tmp_path))
    assert [f.name for f in found] == ["beta", "alpha"]
    assert nav_links(found) == [NavLink("/console/beta/", "乙", "Beta", order=2)]


def test_two_features_with_one_name_are_refused(tmp_path: Path) -> None:
    body = """
        from station_controller.plugins import Feature
        FEATURE = Feature(name="same")
    """
    _write_package(tmp_path, "plugdemo_b", {"one": body, "two": body})
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(ValueError, match="two features named 'same'"):
            discover_features("plugdemo_b")
    finally:
        sys.path.remove(str(tmp_path))


def test_feature_must_be_a_feature(tmp_path: Path) -> None:
    _write_package(tmp_path, "plugdemo_c", {"bad": "FEATURE = {'name': 'bad'}\n"})
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(TypeError, match="not a plugins.Feature"):
            discover_features("plugdemo_c")
    finally:
        sys.path.remove(str(tmp_path))


def test_feature_defaults_add_nothing() -> None:
    empty = Feature(name="empty")
    assert (empty.api_routers, empty.routers, empty.nav, empty.template_dirs) == ((), (), (), ())


class _NotAPayload:
    kind = "odd"


def test_a_feature_whose_payload_breaks_the_hub_protocol_is_named(tmp_path: Path, sqlite_url: str) -> None:
    from station_controller.composition import build_payloads

    bad = Feature(name="odd", payloads=lambda _settings: [_NotAPayload()])
    with pytest.raises(TypeError, match="feature 'odd'.*not a campaigns PayloadAction"):
        build_payloads(make_settings(tmp_path, sqlite_url), [bad])
