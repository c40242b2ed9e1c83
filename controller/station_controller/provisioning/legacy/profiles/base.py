"""What every device profile offers, and the shared base for indented vendor CLIs (VRP, Comware, Ruijie)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from . import cli_tree
from .intent import RouterIntent


@dataclass(frozen=True)
class Check:
    """One verification: run ``command``, ``problem(output)`` returns what is wrong or ``None``."""

    command: str
    problem: Callable[[str], str | None]


class Profile(Protocol):
    """Command rendering and parsing for one device type (a netmiko ``device_type``)."""

    name: str
    config_mode: bool  # True: apply through netmiko config mode; False: exec commands one by one
    error_pattern: str  # regex: a line's output matching it means the router refused the line
    show_running: str

    def normalise(self, raw: str) -> str: ...

    def fragment(self, intent: RouterIntent) -> str: ...

    def apply_lines(self, intent: RouterIntent) -> list[str]: ...

    def save_lines(self) -> list[str]: ...

    def expected(self, running: str, intent: RouterIntent) -> str: ...

    def missing(self, running: str, intent: RouterIntent) -> list[str]: ...

    def restore_lines(self, backup: str, running: str) -> list[str]: ...

    def checks(self, intent: RouterIntent) -> list[Check]: ...

    def facts_commands(self) -> list[str]: ...

    def parse_facts(self, outputs: dict[str, str]) -> dict[str, Any]: ...


def vlan_check(command: str, vlan_id: int, rows: Callable[[str], list[dict[str, Any]]]) -> Check:
    """A Check that the parsed VLAN table of ``command`` lists ``vlan_id``."""

    def problem(output: str) -> str | None:
        ids = {str(row.get("vlan_id", "")) for row in rows(output)}
        return None if str(vlan_id) in ids else f"VLAN {vlan_id} is missing from `{command}`"

    return Check(command, problem)


class TreeProfile:
    """Shared logic of indented vendor CLIs; subclasses render the intent as a config tree."""

    name = ""
    config_mode = True
    error_pattern = ""
    show_running = ""
    undo_word = "undo"
    exit_word = "quit"
    comments: Sequence[str] = ("#",)
    volatile: Sequence[str] = ()  # regexes of lines that change without a config change (timestamps)

    def tree(self, intent: RouterIntent) -> list[cli_tree.Node]:
        raise NotImplementedError

    def normalise(self, raw: str) -> str:
        patterns = [re.compile(p) for p in self.volatile]
        kept = [line.rstrip() for line in raw.splitlines() if not any(p.search(line) for p in patterns)]
        return cli_tree.render(cli_tree.parse("\n".join(kept), comments=self.comments))

    def fragment(self, intent: RouterIntent) -> str:
        return cli_tree.render(self.tree(intent))

    def apply_lines(self, intent: RouterIntent) -> list[str]:
        return cli_tree.config_lines(self.tree(intent), exit_word=self.exit_word)

    def save_lines(self) -> list[str]:
        return []  # netmiko's save_config knows each vendor's save dialogue

    def expected(self, running: str, intent: RouterIntent) -> str:
        base = cli_tree.parse(self.normalise(running), comments=self.comments)
        return cli_tree.render(cli_tree.merge(base, self.tree(intent)))

    def missing(self, running: str, intent: RouterIntent) -> list[str]:
        return cli_tree.missing(
            cli_tree.parse(self.normalise(running), comments=self.comments), self.tree(intent)
        )

    def restore_lines(self, backup: str, running: str) -> list[str]:
        old = cli_tree.parse(self.normalise(backup), comments=self.comments)
        now = cli_tree.parse(self.normalise(running), comments=self.comments)
        return cli_tree.restore_lines(old, now, undo=self.undo_word, exit_word=self.exit_word)

    def checks(self, intent: RouterIntent) -> list[Check]:
        return []

    def facts_commands(self) -> list[str]:
        return []

    def parse_facts(self, outputs: dict[str, str]) -> dict[str, Any]:
        return {}


N = cli_tree.Node
