"""Password and ACL files: content, atomic replace with mode 0600, reload without a running broker."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from station_controller.broker import (
    BrokerAccount,
    BrokerAccountError,
    BrokerAccountFiles,
    hash_password,
    render_acl,
)

EXPECTED_ACL_RULES = [
    "pattern write st/v1/%u/state",
    "pattern write st/v1/%u/telemetry",
    "pattern write st/v1/%u/event",
    "pattern write st/v1/%u/result",
    "pattern write st/v1/%u/config/reported",
    "pattern read st/v1/%u/cmd",
    "pattern read st/v1/%u/config/desired",
    "user controller",
    "topic readwrite st/v1/#",
]


def _files(tmp_path: Path, pid_file: Path | None = None) -> BrokerAccountFiles:
    return BrokerAccountFiles(
        password_file=tmp_path / "broker" / "passwd",
        acl_file=tmp_path / "broker" / "acl",
        pid_file=pid_file,
        service_users=["controller"],
    )


def _rules(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_acl_gives_devices_their_prefix_and_service_users_everything() -> None:
    assert _rules(render_acl(["controller"])) == EXPECTED_ACL_RULES


def test_acl_lists_every_service_user() -> None:
    rules = _rules(render_acl(["controller", "ingest-2"]))

    assert rules[-4:] == [
        "user controller",
        "topic readwrite st/v1/#",
        "user ingest-2",
        "topic readwrite st/v1/#",
    ]


def test_write_creates_both_files_private(tmp_path: Path) -> None:
    files = _files(tmp_path)
    accounts = [
        BrokerAccount("controller", hash_password("a" * 20)),
        BrokerAccount("stb-0001", hash_password("b")),
    ]

    files.write(accounts)

    lines = files.password_file.read_text().splitlines()
    assert [line.split(":", 1)[0] for line in lines] == ["controller", "stb-0001"]
    assert lines[1].split(":", 1)[1] == accounts[1].password_hash
    assert _rules(files.acl_file.read_text()) == EXPECTED_ACL_RULES
    for path in (files.password_file, files.acl_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in files.password_file.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_write_replaces_previous_accounts(tmp_path: Path) -> None:
    files = _files(tmp_path)
    files.write([BrokerAccount("stb-0001", hash_password("x"))])

    files.write([BrokerAccount("stb-0002", hash_password("y"))])

    assert files.password_file.read_text().startswith("stb-0002:$7$")
    assert "stb-0001" not in files.password_file.read_text()


@pytest.mark.parametrize(
    "account",
    [
        BrokerAccount("bad:name", hash_password("x")),
        BrokerAccount("bad name", hash_password("x")),
        BrokerAccount("st/v1", hash_password("x")),
        BrokerAccount("", hash_password("x")),
        BrokerAccount("stb-0001", "plaintext"),
        BrokerAccount("stb-0001", "$7$101$abc$def\nroot:$7$1$a$b"),
    ],
)
def test_write_refuses_unusable_accounts_and_keeps_old_file(tmp_path: Path, account: BrokerAccount) -> None:
    files = _files(tmp_path)
    files.write([BrokerAccount("controller", hash_password("c"))])
    before = files.password_file.read_text()

    with pytest.raises(BrokerAccountError):
        files.write([account])

    assert files.password_file.read_text() == before


def test_write_refuses_duplicate_usernames(tmp_path: Path) -> None:
    files = _files(tmp_path)

    with pytest.raises(BrokerAccountError, match="duplicate"):
        files.write(
            [BrokerAccount("stb-0001", hash_password("x")), BrokerAccount("stb-0001", hash_password("y"))]
        )


def test_ensure_exist_creates_empty_password_file_once(tmp_path: Path) -> None:
    files = _files(tmp_path)
    files.ensure_exist()
    assert files.password_file.read_text() == ""
    files.write([BrokerAccount("stb-0001", hash_password("x"))])

    files.ensure_exist()

    assert files.password_file.read_text().startswith("stb-0001:")


def test_reload_without_pid_file_setting_is_false(tmp_path: Path) -> None:
    assert _files(tmp_path, pid_file=None).reload() is False


def test_reload_with_missing_or_garbage_pid_file_is_false(tmp_path: Path) -> None:
    pid_file = tmp_path / "mosquitto.pid"
    assert _files(tmp_path, pid_file).reload() is False
    pid_file.write_text("not a pid\n")
    assert _files(tmp_path, pid_file).reload() is False


def test_reload_never_signals_a_process_that_is_not_mosquitto(tmp_path: Path) -> None:
    # A stale pid file naming this very test process: SIGHUP would end the test run.
    pid_file = tmp_path / "mosquitto.pid"
    pid_file.write_text(f"{os.getpid()}\n")

    assert _files(tmp_path, pid_file).reload() is False


def test_upsert_replaces_one_account_and_keeps_the_rest(tmp_path: Path) -> None:
    files = _files(tmp_path)
    assert files.read() == []
    device = BrokerAccount("stb-0001", hash_password("d"))
    files.write([BrokerAccount("controller", hash_password("old")), device])
    new_controller = BrokerAccount("controller", hash_password("new"))

    files.upsert(new_controller)

    assert sorted(files.read(), key=lambda a: a.username) == [new_controller, device]
