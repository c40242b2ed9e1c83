"""Helpers shared by every test: bounded waits, real MQTT test clients, handles on dev-stack services."""

from .mqtt import MqttTestClient, ReceivedMessage
from .services import BrokerHandle, VictoriaHandle
from .wait import wait_until

__all__ = ["BrokerHandle", "MqttTestClient", "ReceivedMessage", "VictoriaHandle", "wait_until"]
