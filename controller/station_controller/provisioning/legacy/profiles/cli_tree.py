"""Indented vendor configs (VRP, Comware, Ruijie) as trees: parse, merge a fragment, render, undo lines."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Settings whose value may contain spaces (an SSID, a description): the key is the command word(s) only.
_VALUE_COMMANDS = re.compile(r"^(ssid|description|url|name|wlan-config \d+) ")


@dataclass
class Node:
    """One config line and the lines indented under it (its view / sub-mode)."""

    text: str
    children: list[Node] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Lines that set one value (no children) are identified without their last word.

        ``ssid Village`` and ``ssid Town`` are the same setting with two values; a header such as
        ``interface Vlanif10`` is identified by its whole text.
        """
        if self.children:
            return self.text
        named = _VALUE_COMMANDS.match(self.text)
        if named:
            return named.group(1)
        head, _, _ = self.text.rpartition(" ")
        return head or self.text


def parse(text: str, *, comments: Sequence[str] = ("#", "!")) -> list[Node]:
    """Tree of ``text`` by indentation; separator/comment lines and blank lines are dropped."""
    root = Node("")
    stack: list[tuple[int, Node]] = [(-1, root)]
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or any(stripped.startswith(c) for c in comments) or stripped in ("return", "end"):
            continue
        depth = len(raw) - len(raw.lstrip(" "))
        while stack[-1][0] >= depth:
            stack.pop()
        node = Node(stripped)
        stack[-1][1].children.append(node)
        stack.append((depth, node))
    return root.children


def render(nodes: Iterable[Node], *, depth: int = 0) -> str:
    """Canonical text: one space of indentation per level (what we diff and store as "expected")."""
    lines: list[str] = []
    for node in nodes:
        lines.append(" " * depth + node.text)
        if node.children:
            lines.append(render(node.children, depth=depth + 1).rstrip("\n"))
    return "\n".join(line for line in lines if line) + ("\n" if lines else "")


def merge(base: Sequence[Node], fragment: Sequence[Node]) -> list[Node]:
    """``base`` with ``fragment`` applied: same key → replaced (leaves) or merged (headers), else appended."""
    out = [Node(n.text, list(n.children)) for n in base]
    for new in fragment:
        match = next((i for i, old in enumerate(out) if old.key == new.key), None)
        if match is None:
            out.append(Node(new.text, merge([], new.children)))
        elif new.children or out[match].children:
            out[match] = Node(new.text, merge(out[match].children, new.children))
        else:
            out[match] = Node(new.text)
    return out


def missing(running: Sequence[Node], fragment: Sequence[Node], *, path: str = "") -> list[str]:
    """Lines of ``fragment`` not present (with the same value) in ``running``, as ``parent > line``."""
    problems: list[str] = []
    for want in fragment:
        have = next((n for n in running if n.key == want.key), None)
        where = f"{path}{want.text}"
        if have is None or have.text != want.text:
            problems.append(where)
        elif want.children:
            problems.extend(missing(have.children, want.children, path=f"{where} > "))
    return problems


def config_lines(nodes: Sequence[Node], *, exit_word: str) -> list[str]:
    """Lines to type in config mode to create ``nodes``: enter each view, set its lines, leave it."""
    lines: list[str] = []
    for node in nodes:
        lines.append(node.text)
        if node.children:
            lines.extend(config_lines(node.children, exit_word=exit_word))
            lines.append(exit_word)
    return lines


def restore_lines(backup: Sequence[Node], running: Sequence[Node], *, undo: str, exit_word: str) -> list[str]:
    """Config-mode lines that turn ``running`` back into ``backup``.

    Added settings are undone (``undo x`` / ``no x``), changed or removed ones re-entered from the backup.
    """
    # Undo newest first: later views reference earlier ones (a VAP profile names its SSID profile).
    lines = [f"{undo} {n.text}" for n in reversed(running) if not any(b.key == n.key for b in backup)]
    for old in backup:
        now = next((n for n in running if n.key == old.key), None)
        if now is None:
            lines.extend(config_lines([old], exit_word=exit_word))
        elif old.children or now.children:
            inner = restore_lines(old.children, now.children, undo=undo, exit_word=exit_word)
            if inner:
                lines.extend([old.text, *inner, exit_word])
        elif now.text != old.text:
            lines.append(old.text)
    return lines
