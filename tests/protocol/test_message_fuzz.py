"""Hostile values in any field of any registered message: decode returns a typed value or a ProtocolError."""

from __future__ import annotations

from typing import Any, Callable

from hypothesis import given
from hypothesis import strategies as st

import station_protocol as sp
from fixtures.golden import command_golden, event_golden, golden_command_names, golden_event_names
from station_protocol import contract

from .strategies import FUZZ, hostile_json


def _cases() -> list[tuple[str, Callable[[str, Any], Any], dict[str, Any]]]:
    cases: list[tuple[str, Callable[[str, Any], Any], dict[str, Any]]] = []
    for name in golden_command_names():
        golden = command_golden(name)
        cases += [
            (name, contract.decode_args, golden["args"]),
            (name, contract.decode_output, golden["output"]),
        ]
    cases += [(name, contract.decode_event, event_golden(name)) for name in golden_event_names()]
    return [case for case in cases if case[2]]


@FUZZ
@given(case=st.sampled_from(_cases()), data=st.data())
def test_one_hostile_field_decodes_or_fails_with_a_protocol_error(case: Any, data: st.DataObject) -> None:
    name, decode, golden = case
    key = data.draw(st.sampled_from(sorted(golden)))
    value = data.draw(hostile_json(3))
    error: sp.ProtocolError | None = None
    try:
        decoded = decode(name, {**golden, key: value})
    except sp.ProtocolError as exc:
        error = exc
    if error is None:
        assert isinstance(contract.encode(decoded), dict)  # what decoded encodes again
    else:
        assert 0 < len(str(error)) < 400  # one readable log line naming the field
