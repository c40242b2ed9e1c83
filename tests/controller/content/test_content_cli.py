"""stationctl content publish/list/diff against the real API (the CLI's client is the test client)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from stationctl import content as cli
from stationctl.cli import main
from tests.controller.api.core_fixtures import Api


@pytest.fixture
def logged_in(api: Api, monkeypatch: pytest.MonkeyPatch) -> Api:
    api.client.headers.update(api.user("operator"))

    class Borrowed:  # the CLI closes its client; the test client must stay open
        def __enter__(self) -> Any:
            return api.client

        def __exit__(self, *_exc: object) -> None:
            pass

    monkeypatch.setattr(cli, "api", lambda **_kw: Borrowed())
    return api


def test_publish_twice_uploads_only_new_chunks(logged_in: Api, tmp_path: Path, capsys: Any) -> None:
    src = tmp_path / "course"
    (src / "v").mkdir(parents=True)
    (src / "v" / "a.mp4").write_bytes(random.Random(3).randbytes(900_000))
    (src / "index.html").write_text("<p>一</p>" * 3000, encoding="utf-8")
    assert main(["content", "publish", str(src), "--name", "art", "--version", "2026.1", "--quiet"]) == 0
    first = capsys.readouterr().out
    assert "published art 2026.1 (seq 1)" in first
    (src / "index.html").write_text("<p>二</p>" * 3000, encoding="utf-8")
    assert main(["content", "publish", str(src), "--name", "art", "--version", "2026.2", "--quiet"]) == 0
    second = capsys.readouterr().out
    uploaded = int(second.split("uploaded ")[1].split(" bytes")[0])
    assert 0 < uploaded < 10_000, second  # the video's chunks were already there
    assert main(["content", "list", "art"]) == 0
    listing = capsys.readouterr().out
    assert "2026.1" in listing
    assert "2026.2" in listing
    assert main(["content", "diff", "art", "2026.2"]) == 0
    assert "C index.html" in capsys.readouterr().out
