"""The launcher's boot state: trial starts are counted before each start, 3 without a commit fall back."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from station_agent.update import launcher as boot


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for slot, version in (("a", "0.1.0"), ("b", "0.2.0")):
        (root / "slots" / slot / "site").mkdir(parents=True)
        boot.write_json_atomic(root / "slots" / slot / boot.SLOT_FILE, {"version": version})
    pending = {"slot": "b", "version": "0.2.0", "release_id": "agent-0.2.0", "job_id": "j1", "attempts": 0}
    boot.write_boot(root, {"active": "a", "pending": pending, "last_update": None})
    return root


def test_trial_slot_is_started_three_times_then_the_good_one(tmp_path: Path) -> None:
    root = _root(tmp_path)
    chosen = [boot.choose_slot(root, 1000 + i) for i in range(5)]
    assert chosen == ["b", "b", "b", "a", "a"]
    state = boot.read_boot(root)
    assert state["pending"] is None
    assert state["active"] == "a"
    last = state["last_update"]
    assert (last["state"], last["reason"], last["attempt"], last["reported"]) == (
        "rolled_back",
        "crashed_at_start",
        3,
        False,
    )


def test_a_trial_slot_that_vanished_is_not_started(tmp_path: Path) -> None:
    root = _root(tmp_path)
    (root / "slots" / "b" / boot.SLOT_FILE).unlink()
    assert boot.choose_slot(root, 1) == "a"
    assert boot.read_boot(root)["last_update"]["reason"] == "install_failed"


def test_staged_slot_is_invisible_until_published_and_partial_ones_are_cleaned(tmp_path: Path) -> None:
    root = _root(tmp_path)
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("demo/__init__.py", "X = 1\n")
        zf.writestr("demo-1.0.data/purelib/demo_extra.py", "Y = 2\n")
        zf.writestr("demo-1.0.data/scripts/demo", "#!/bin/sh\n")
    boot.stage_slot(root, "b", [wheel], {"version": "0.3.0"})
    assert boot.slot_info(root, "b") == {"version": "0.2.0"}  # still the old, complete slot
    boot.clean_partial(root)  # what a restart after a kill does
    assert not (root / "slots" / "b.tmp").exists()
    boot.stage_slot(root, "b", [wheel], {"version": "0.3.0"})
    boot.publish_slot(root, "b")
    assert boot.slot_info(root, "b") == {"version": "0.3.0"}
    site = root / "slots" / "b" / "site"
    assert (site / "demo" / "__init__.py").exists()
    assert (site / "demo_extra.py").exists()
    assert not (site / "demo").with_name("demo-1.0.data").exists()
    assert sorted(p.name for p in (root / "slots").iterdir()) == ["a", "b"]


def test_a_wheel_escaping_the_slot_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "evil-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("../../etc/evil", "x")
    with pytest.raises(ValueError, match="unsafe path"):
        boot.unpack_wheel(wheel, tmp_path / "site")


def test_corrupt_boot_state_stops_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / boot.BOOT_FILE).write_text(json.dumps({"active": "c"}))
    with pytest.raises(SystemExit, match="corrupt"):
        boot.read_boot(tmp_path)
