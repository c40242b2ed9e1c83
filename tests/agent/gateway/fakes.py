"""Fakes behind the gateway adapter Protocols (NftRunner, TcRunner, Neighbours) and a fake clock."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from station_agent.gateway.errors import ToolFailed

ELEMENT = re.compile(r"^(add|delete) element inet station_portal (auth_up|auth_down) \{ (.+) \}$")


class FakeNft:
    """Keeps the elements of auth_up/auth_down like the kernel would; tests set their byte counters."""

    def __init__(self) -> None:
        self.scripts: List[str] = []
        self.loaded = False
        self.up: Dict[Tuple[str, str], int] = {}
        self.down: Dict[str, int] = {}
        self.fail_next: Optional[str] = None

    def run(self, args: Sequence[str], stdin: str = "") -> str:
        if self.fail_next is not None:
            message, self.fail_next = self.fail_next, None
            raise ToolFailed(["nft", *args], 1, message)
        if list(args[:2]) == ["-j", "list"]:
            return self._listing(args)
        self.scripts.append(stdin)
        if "delete table" in stdin:
            self._replace(stdin)
        else:
            for line in stdin.splitlines():
                self._element(line)
        return ""

    def _listing(self, args: Sequence[str]) -> str:
        if not self.loaded:
            raise ToolFailed(["nft", *args], 1, "Error: No such file or directory")
        up = [
            {"elem": {"val": {"concat": [m, i]}, "counter": {"packets": 1, "bytes": b}}}
            for (m, i), b in self.up.items()
        ]
        down = [{"elem": {"val": i, "counter": {"packets": 1, "bytes": b}}} for i, b in self.down.items()]
        sets: List[Dict[str, Any]] = [
            {"set": {"name": "auth_up", "elem": up}},
            {"set": {"name": "auth_down", "elem": down}},
        ]
        return json.dumps({"nftables": [{"metainfo": {}}, *sets]})

    def _replace(self, script: str) -> None:
        self.up, self.down = {}, {}
        self.loaded = "{" in script  # render_delete has no body
        block = re.search(r"set auth_up \{(.*?)\n\t\}", script, re.S)
        found = re.search(r"elements = \{ (.*?) \}", block.group(1)) if block else None
        for item in found.group(1).split(", ") if found else []:
            mac, ip = item.split(" . ")
            self.up[(mac, ip)] = 0
            self.down[ip] = 0

    def _element(self, line: str) -> None:
        match = ELEMENT.match(line)
        assert match, f"unexpected nft line {line!r}"
        op, name, value = match.groups()
        if not self.loaded:
            raise ToolFailed(["nft", "-f", "-"], 1, "Error: No such file or directory")
        table: Dict[Any, int] = self.up if name == "auth_up" else self.down
        key: Any = tuple(value.split(" . ")) if name == "auth_up" else value
        if op == "add":
            table.setdefault(key, 0)
        else:
            table.pop(key)


class FakeTc:
    """Records every argv; reports which client classes exist. ``bridges`` maps a bridge name to its
    ports (name → ifindex) as ``ip -j link`` would list them; ``fail_dev`` makes tc on that device fail."""

    def __init__(self) -> None:
        self.calls: List[List[str]] = []
        self.classes: Dict[Tuple[str, str], List[str]] = {}
        self.bridges: Dict[str, Dict[str, int]] = {}
        self.fail_dev: Optional[str] = None

    def run(self, argv: Sequence[str], *, check: bool = True) -> str:
        if check and self.fail_dev is not None and argv[0] == "tc" and self.fail_dev in argv:
            raise ToolFailed(argv, 1, "Cannot find device")  # not recorded: it changed nothing
        self.calls.append(list(argv))
        if argv[:2] == ["ip", "-j"]:
            return self._links(argv)
        if argv[:3] == ["tc", "class", "replace"]:
            self.classes[(argv[4], argv[8])] = list(argv)
        elif argv[:3] == ["tc", "class", "del"]:
            self.classes.pop((argv[4], argv[6]), None)
        elif argv[:3] == ["tc", "qdisc", "del"] and argv[-1] == "root":
            for key in [k for k in self.classes if k[0] == argv[4]]:
                del self.classes[key]
        elif argv[:3] == ["ip", "link", "del"]:
            for key in [k for k in self.classes if k[0] == argv[3]]:
                del self.classes[key]
        return ""

    def _links(self, argv: Sequence[str]) -> str:
        if list(argv[2:5]) == ["-d", "link", "show"]:
            kind = "bridge" if argv[-1] in self.bridges else "veth"
            return json.dumps([{"ifname": argv[-1], "linkinfo": {"info_kind": kind}}])
        ports = self.bridges.get(argv[-1], {})
        return json.dumps([{"ifname": name, "ifindex": index} for name, index in ports.items()])

    def ingress_devices(self) -> List[str]:
        """Devices whose ingress is currently redirected (add after the last del), in order of setup."""
        devices: List[str] = []
        for argv in self.calls:
            if argv[:3] == ["tc", "qdisc", "add"] and argv[-1] == "ingress" and argv[4] not in devices:
                devices.append(argv[4])
            elif argv[:3] == ["tc", "qdisc", "del"] and argv[-1] == "ingress" and argv[4] in devices:
                devices.remove(argv[4])
            elif argv[:3] == ["ip", "link", "del"] and argv[3] in devices:
                devices.remove(argv[3])
        return devices

    def client_classes(self) -> Dict[Tuple[str, str], str]:
        """(device, classid) → rate of every class except the root class 1:1."""
        return {k: v[v.index("rate") + 1] for k, v in self.classes.items() if k[1] != "1:1"}


class FakeNeighbours:
    def __init__(self, table: Optional[Dict[str, str]] = None) -> None:
        self.table = dict(table or {})

    def mac_of(self, ip: str) -> Optional[str]:
        return self.table.get(ip)


class FakeClock:
    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self.ms = start_ms

    def __call__(self) -> int:
        return self.ms

    def advance(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)
