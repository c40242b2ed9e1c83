"""A "legacy OpenWrt router" for tests: a real sshd (own mount namespace) whose `uci` edits a JSON file."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support import wait_until

UCI = r'''#!/usr/bin/python3
"""uci stand-in: show / get / set / delete / commit on STATE (JSON); keys in IGNORED are silently dropped."""
import json, sys
STATE, IGNORED = "@STATE@", "@IGNORED@"
def load():
    with open(STATE) as f:
        return json.load(f)
def save(data):
    with open(STATE, "w") as f:
        json.dump(data, f, indent=1)
def quote(v):
    return "'" + v.replace("'", "'\\''") + "'"
def main(argv):
    data = load()
    cmd, args = (argv[0], argv[1:]) if argv else ("show", [])
    if cmd == "show":
        for key, value in data.items():
            if not args or key == args[0] or key.startswith(args[0] + "."):
                print(f"{key}={value}" if key.count(".") == 1 else f"{key}={quote(value)}")
        return 0
    if cmd == "get":
        if args[0] not in data:
            print("uci: Entry not found"); return 1
        print(data[args[0]]); return 0
    if cmd == "set":
        key, _, value = args[0].partition("=")
        if key.count(".") not in (1, 2) or (key.count(".") == 2 and key.rsplit(".", 1)[0] not in data):
            print("uci: Invalid argument"); return 1
        ignored = open(IGNORED).read().split()
        if key not in ignored:
            data[key] = value
        save(data); return 0
    if cmd == "delete":
        if args[0] not in data:
            print("uci: Entry not found"); return 1
        for k in [k for k in data if k == args[0] or k.startswith(args[0] + ".")]:
            del data[k]
        save(data); return 0
    if cmd == "commit":
        return 0
    print("uci: Invalid argument"); return 1
sys.exit(main(sys.argv[1:]))
'''

BASELINE = {
    "system.cfg01e48a": "system",
    "system.cfg01e48a.hostname": "WangZhuang-GW",
    "system.cfg01e48a.timezone": "CST-8",
    "network.lan": "interface",
    "network.lan.device": "br-lan",
    "network.lan.proto": "static",
    "network.lan.ipaddr": "192.168.1.1",
    "network.lan.netmask": "255.255.255.0",
    "wireless.radio0": "wifi-device",
    "wireless.radio0.type": "mac80211",
    "wireless.radio0.channel": "6",
    "wireless.default_radio0": "wifi-iface",
    "wireless.default_radio0.device": "radio0",
    "wireless.default_radio0.ssid": "OpenWrt",
}

SSHD_CONFIG = """Port {port}
ListenAddress 127.0.0.1
HostKey {dir}/host_key
PidFile none
AuthorizedKeysFile {dir}/authorized_keys
PermitRootLogin {root_login}
PasswordAuthentication {password_auth}
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
PrintLastLog no
"""


@dataclass
class FakeRouter:
    """The running sshd plus the files that make up the router's "flash"."""

    port: int
    private_key: str
    state_file: Path
    ignored_file: Path
    process: subprocess.Popen[bytes]

    def config(self) -> dict[str, str]:
        data: dict[str, str] = json.loads(self.state_file.read_text())
        return data

    def write_config(self, data: dict[str, str]) -> None:
        self.state_file.write_text(json.dumps(data))

    def ignore(self, *keys: str) -> None:
        """Make the firmware silently drop these keys (the push "succeeds" but does not take)."""
        self.ignored_file.write_text("\n".join(keys))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            return sock.recv(4).startswith(b"SSH")
    except OSError:
        return False


def _shadow_with_root_password(workdir: Path, password: str) -> Path:
    """A copy of /etc/shadow whose root entry has ``password``; mounted over the real one only for sshd."""
    digest = subprocess.run(
        ["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True, text=True, check=True
    ).stdout.strip()
    lines = Path("/etc/shadow").read_text().splitlines()
    patched = [
        f"root:{digest}:" + line.split(":", 2)[2] if line.startswith("root:") else line for line in lines
    ]
    shadow = workdir / "shadow"
    shadow.write_text("\n".join(patched) + "\n")
    shadow.chmod(0o640)
    return shadow


def start_router(workdir: Path, *, password: str | None = None) -> FakeRouter:
    """sshd on a free loopback port; its own mount namespace puts our `uci` first on root's PATH.

    With ``password``, root logs in with that password (a patched /etc/shadow is bind-mounted in the
    namespace; the host's file is untouched) instead of the generated key.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    bin_dir, state, ignored = workdir / "bin", workdir / "router.json", workdir / "ignored"
    bin_dir.mkdir()
    state.write_text(json.dumps(BASELINE))
    ignored.write_text("")
    (bin_dir / "uci").write_text(UCI.replace("@STATE@", str(state)).replace("@IGNORED@", str(ignored)))
    (bin_dir / "reload_config").write_text("#!/bin/sh\nexit 0\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(workdir / "host_key")], check=True
    )
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(workdir / "client_key")], check=True
    )
    shutil.copy(workdir / "client_key.pub", workdir / "authorized_keys")
    port = _free_port()
    config = SSHD_CONFIG.format(
        port=port,
        dir=workdir,
        root_login="yes" if password else "prohibit-password",
        password_auth="yes" if password else "no",
    )
    (workdir / "sshd_config").write_text(config)
    shadow = (
        f"mount --bind {_shadow_with_root_password(workdir, password)} /etc/shadow && " if password else ""
    )
    script = (
        f"mount -t tmpfs tmpfs /run && mkdir -m 755 /run/sshd && mount --bind {bin_dir} /usr/local/sbin "
        f"&& {shadow}exec /usr/sbin/sshd -D -e -f {workdir / 'sshd_config'}"
    )
    with (workdir / "sshd.log").open("wb") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script], stdout=log, stderr=log
        )
    router = FakeRouter(port, (workdir / "client_key").read_text(), state, ignored, process)
    try:
        wait_until(lambda: _accepts(port), timeout=30, message=f"sshd on port {port}")
    except AssertionError:
        router.stop()
        raise AssertionError((workdir / "sshd.log").read_text()) from None
    return router
