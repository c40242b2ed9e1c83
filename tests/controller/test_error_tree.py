"""The controller has one error tree: every exception class it defines descends from StationError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import station_controller
from station_controller.errors import ControllerError, DeviceUnreachable, StationError
from station_controller.ingest.errors import BrokerUnavailable
from station_controller.provisioning.legacy.errors import RouterAuthFailed, RouterUnreachable
from station_controller.tsdb.errors import TsdbRejected, TsdbUnavailable

SKIP = ("station_controller.migrations",)  # Alembic scripts run on import


def _controller_exceptions() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(station_controller.__path__, "station_controller."):
        if info.name.startswith(SKIP):
            continue
        module = importlib.import_module(info.name)
        for _name, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                found.append(obj)
    return found


def test_every_controller_exception_is_a_station_error() -> None:
    classes = _controller_exceptions()
    assert len(classes) > 20  # the walk really found the packages' errors
    strays = sorted(f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, StationError))
    assert strays == []


def test_retryable_is_the_one_way_to_say_retry() -> None:
    assert issubclass(ControllerError, StationError)
    retryable = [DeviceUnreachable, BrokerUnavailable, TsdbUnavailable, RouterUnreachable]
    permanent = [ControllerError, TsdbRejected, RouterAuthFailed]
    assert [c.retryable for c in retryable] == [True] * len(retryable)
    assert [c.retryable for c in permanent] == [False] * len(permanent)
