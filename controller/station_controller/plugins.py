"""How a feature plugs itself into the controller: one ``feature.py`` per feature package.

A feature package ``station_controller/<name>/`` that has a module ``feature.py`` defining
``FEATURE = Feature(...)`` is found by :func:`discover_features` and wired by the composition root
(composition.py) and main.py: its JSON API routers go under ``/api/v1``, its page routers are mounted,
its console menu entries and template folders join the console, its campaign payloads and device event
handlers are registered, its background parts start and stop with the app. No hub (main, composition,
campaigns, ingest, console) imports a feature by name, so a new feature touches no shared file.

Example (``firmware/feature.py``)::

    FEATURE = Feature(
        name="firmware",
        order=70,
        api_routers=(routes.router,),
        routers=(Mount(pages.router),),
        nav=(NavLink("/console/firmware/", "固件升级", "Firmware", order=70),),
        template_dirs=(Path(__file__).parent / "templates",),
        payloads=lambda settings: [FirmwarePayload(settings)],
        event_handlers=lambda factory, payloads: [FirmwareEvents(factory)],
        background=lambda ctx: [StuckUpdateSweeper(ctx.session_factory, ctx.settings)],
    )
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fastapi import APIRouter
from sqlalchemy.orm import Session, sessionmaker

from .settings import Settings

FEATURE_MODULE = "feature"


@dataclass(frozen=True)
class Mount:
    """A router mounted at the app's root; lower ``priority`` is matched first (hot routes low)."""

    router: APIRouter
    priority: int = 50


@dataclass(frozen=True)
class NavLink:
    """One entry of the console's menu (``order`` sorts the menu; ``role`` hides it from others)."""

    href: str
    zh: str
    en: str
    order: int = 100
    role: str | None = None


@dataclass(frozen=True)
class FeatureContext:
    """What a feature's background parts and services are built from (the composition root's objects).

    ``publisher`` is a ``commands.publisher.CommandPublisher`` (None: this process cannot publish) and
    ``payloads`` the ``campaigns.payloads.PayloadAction`` registry. This module names the hubs' types
    only in words: importing them would make every feature package and its hubs one import loop.
    """

    settings: Settings
    session_factory: sessionmaker[Session]
    publisher: Any
    payloads: Mapping[str, Any]


class Background(Protocol):
    """A long-lived part started after the app's core parts and stopped before them."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


# Payloads are campaigns.payloads.PayloadAction, handlers ingest.events.DeviceEventHandler: composition.py
# checks each against the Protocol (runtime_checkable) and names the feature that broke it.
PayloadFactory = Callable[[Settings], Iterable[Any]]
HandlerFactory = Callable[[sessionmaker[Session], Mapping[str, Any]], Iterable[Any]]
BackgroundFactory = Callable[[FeatureContext], Iterable[Background]]
ServiceFactory = Callable[[FeatureContext], Mapping[str, Any]]


@dataclass(frozen=True)
class Feature:
    """Everything one feature adds; every field is optional."""

    name: str
    order: int = 100  # API routers and menu entries of lower orders come first
    api_routers: tuple[APIRouter, ...] = ()
    routers: tuple[Mount, ...] = ()
    nav: tuple[NavLink, ...] = ()
    template_dirs: tuple[Path, ...] = ()
    payloads: PayloadFactory | None = None
    event_handlers: HandlerFactory | None = None
    background: BackgroundFactory | None = None
    services: ServiceFactory | None = None  # extra long-lived objects, read with api.deps.service(name)


def discover_features(package: str = __package__ or "station_controller") -> list[Feature]:
    """Every ``<package>.<sub>.feature.FEATURE``, sorted by (order, name); names must be unique."""
    root = importlib.import_module(package)
    found: dict[str, Feature] = {}
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        module_name = f"{package}.{info.name}.{FEATURE_MODULE}"
        if importlib.util.find_spec(module_name) is None:
            continue
        feature = importlib.import_module(module_name).FEATURE
        if not isinstance(feature, Feature):
            raise TypeError(f"{module_name}.FEATURE is not a plugins.Feature")
        if feature.name in found:
            raise ValueError(f"two features named {feature.name!r}")
        found[feature.name] = feature
    return sorted(found.values(), key=lambda f: (f.order, f.name))


def nav_links(features: Sequence[Feature]) -> list[NavLink]:
    return sorted((link for f in features for link in f.nav), key=lambda link: (link.order, link.href))


def template_dirs(features: Sequence[Feature]) -> list[Path]:
    return [d for f in features for d in f.template_dirs]
