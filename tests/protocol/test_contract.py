"""The command/event registry decodes strictly, names the bad field, and encodes back."""

from __future__ import annotations

from types import ModuleType

import pytest

from station_protocol import contract
from station_protocol.codec import Empty
from station_protocol.errors import MalformedMessage
from station_protocol.spec import CommandSpec, EventSpec, RegistryError

ALLOW = {"session_id": "s1", "mac": "aa:bb:cc:dd:ee:f0", "ip": "10.0.0.2", "expires_at": 5,
         "idle_timeout_s": 0, "up_kbps": 1, "down_kbps": 1, "quota_bytes": 0}  # fmt: skip


def test_allow_round_trips() -> None:
    assert contract.encode(contract.decode_args("portal.allow", ALLOW)) == ALLOW


def test_missing_field_is_named() -> None:
    with pytest.raises(MalformedMessage, match=r"args\.mac: missing"):
        contract.decode_args("portal.allow", {k: v for k, v in ALLOW.items() if k != "mac"})


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(MalformedMessage, match="unknown field"):
        contract.decode_args("portal.allow", {**ALLOW, "extra": 1})


def test_unknown_command_is_named() -> None:
    with pytest.raises(MalformedMessage, match="unknown command"):
        contract.decode_args("nope", {})


def _module(name: str, **attrs: object) -> ModuleType:
    module = ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


def test_registry_collects_every_message_module() -> None:
    from station_protocol import commands, portal, sync

    for module in (commands, portal, sync):
        for spec in module.COMMAND_SPECS:
            assert contract.COMMANDS[spec.name] is spec
        for event in module.EVENT_SPECS:
            assert contract.EVENTS[event.name] is event


def test_a_name_declared_twice_is_refused() -> None:
    first = _module("a", COMMAND_SPECS=(CommandSpec("x.do", Empty, Empty),))
    second = _module("b", COMMAND_SPECS=(CommandSpec("x.do", Empty, Empty),))
    with pytest.raises(RegistryError, match="'x.do' declared by both a and b"):
        contract.collect([first, second], "COMMAND_SPECS", CommandSpec)


def test_specs_of_the_wrong_type_are_refused() -> None:
    wrong = _module("c", EVENT_SPECS=(CommandSpec("x.do", Empty, Empty),))
    with pytest.raises(RegistryError, match="expected a tuple of EventSpec"):
        contract.collect([wrong], "EVENT_SPECS", EventSpec)


def test_modules_without_specs_add_nothing() -> None:
    assert contract.collect([_module("d")], "COMMAND_SPECS", CommandSpec) == {}
