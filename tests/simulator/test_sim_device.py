"""The simulated device: session counter in birth and will, answers to commands and desired config."""

from __future__ import annotations

from station_protocol import (
    Birth,
    Channel,
    Command,
    ConfigDesired,
    ConfigReported,
    Death,
    Result,
    decode_from,
    encode,
    make,
    now_ms,
    topic,
)
from station_protocol.enrollment import EnrollResponse
from station_simulator.device import SimDevice

DEV = "stb-sim-000001"


def _device() -> SimDevice:
    creds = EnrollResponse(
        device_id=DEV, role="stb", mqtt_host="127.0.0.1", mqtt_port=1883, mqtt_username=DEV, mqtt_password="x"
    )
    return SimDevice(0, creds, agent_version="sim-test", interval_s=30.0, seed=1)


def _command(name: str, *, expires_in_ms: int = 60_000) -> tuple[str, bytes, str]:
    env = make("controller-x", Command(name=name, expires_at=now_ms() + expires_in_ms))
    # The controller addresses the device's own cmd topic; envelope.dev names the device.
    env = make(DEV, env.body)
    return topic(DEV, Channel.CMD), encode(env), env.id


def test_will_and_birth_carry_the_same_growing_session() -> None:
    device = _device()
    for expected in (1, 2, 3):
        will_topic, will = device.next_will()
        birth_topic, birth = device.birth()
        _, will_env = decode_from(will_topic, will)
        _, birth_env = decode_from(birth_topic, birth)
        assert isinstance(will_env.body, Death)
        assert isinstance(birth_env.body, Birth)
        assert will_env.body.session == birth_env.body.session == expected
        assert will_env.body.graceful is False
        assert birth_env.body.boot_id == device.boot_id


def test_ping_is_answered_ok_with_the_command_id() -> None:
    cmd_topic, payload, command_id = _command("ping")
    reply = _device().answer(cmd_topic, payload)
    assert reply is not None
    _, env = decode_from(*reply)
    assert reply[0] == topic(DEV, Channel.RESULT)
    assert isinstance(env.body, Result)
    assert (env.body.command_id, env.body.status) == (command_id, "ok")


def test_expired_and_unknown_commands_get_precise_statuses() -> None:
    device = _device()
    expired = device.answer(*_command("ping", expires_in_ms=-1000)[:2])
    unknown = device.answer(*_command("reboot")[:2])
    assert expired is not None
    assert unknown is not None
    expired_body, unknown_body = decode_from(*expired)[1].body, decode_from(*unknown)[1].body
    assert isinstance(expired_body, Result)
    assert expired_body.status == "expired"
    assert isinstance(unknown_body, Result)
    assert unknown_body.status == "rejected"
    assert unknown_body.error is not None
    assert "reboot" in unknown_body.error


def test_desired_config_is_reported_applied_once_per_version() -> None:
    device = _device()
    desired = encode(make(DEV, ConfigDesired(version=4, config={"x": 1})))
    reply = device.answer(topic(DEV, Channel.CONFIG_DESIRED), desired)
    assert reply is not None
    body = decode_from(*reply)[1].body
    assert isinstance(body, ConfigReported)
    assert (body.version, body.status) == (4, "applied")
    assert device.answer(topic(DEV, Channel.CONFIG_DESIRED), desired) is None
    _, birth = device.birth()
    assert decode_from(topic(DEV, Channel.STATE), birth)[1].body.config_version == 4  # type: ignore[union-attr]


def test_garbage_downlink_is_ignored() -> None:
    assert _device().answer(topic(DEV, Channel.CMD), b"not json") is None
