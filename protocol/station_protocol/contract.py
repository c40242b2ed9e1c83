"""The registry of every command and event name that crosses the wire, with strict decode and encode.

Adding a message never edits this file. A message module of ``station_protocol`` (commands.py,
portal.py, sync.py, firmware.py, ...) declares, next to its typed frozen dataclasses::

    COMMAND_SPECS: Tuple[CommandSpec, ...] = (CommandSpec(NAME, ArgsClass, OutputClass), ...)
    EVENT_SPECS: Tuple[EventSpec, ...] = (EventSpec(NAME, BodyClass), ...)

(spec.py; ``args`` None means free-form like ``ping``, ``codec.Empty`` means no arguments). Then add a
golden file per command (args and output) and per event (detail) under tests/fixtures/messages/ (its
README.md says where) and a section in docs/protocol.md that names the message; tests/protocol fails
for a registered name without either.

The registry is collected on first use from every module of the package that declares either name
(pkgutil + importlib), so import order between message modules does not matter; a name declared twice,
or a spec of the wrong type, raises RegistryError then. ``{name: (Args, Output)}`` / ``{name: Body}``
mappings are accepted as a shorthand for the tuples.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, TypeVar

from . import bounds as b
from . import codec as c
from . import commands as cmd
from .errors import MalformedMessage
from .spec import CommandSpec, EventSpec, RegistryError

__all__ = [
    "COMMANDS",
    "EVENTS",
    "CommandSpec",
    "EventSpec",
    "RegistryError",
    "collect",
    "decode_args",
    "decode_event",
    "decode_output",
    "encode",
]

S = TypeVar("S", CommandSpec, EventSpec)
_PACKAGE = __name__.rpartition(".")[0]
_SKIP = frozenset({"contract", "spec"})


def _message_modules() -> List[ModuleType]:
    package = importlib.import_module(_PACKAGE)
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name not in _SKIP)
    return [importlib.import_module(f"{_PACKAGE}.{name}") for name in names]


def _as_specs(declared: Any, kind: type, where: str) -> Tuple[Any, ...]:
    if isinstance(declared, Mapping):  # shorthand {name: (args, output)} / {name: body}
        if kind is CommandSpec:
            return tuple(CommandSpec(name, *pair) for name, pair in declared.items())
        return tuple(EventSpec(name, body) for name, body in declared.items())
    if not isinstance(declared, (tuple, list)) or not all(isinstance(s, kind) for s in declared):
        raise RegistryError(f"{where}: expected a tuple of {kind.__name__}, got {declared!r:.120}")
    return tuple(declared)


def collect(modules: Iterable[ModuleType], attr: str, kind: type) -> Dict[str, Any]:
    """``{name: spec}`` of every module's ``attr`` (COMMAND_SPECS/EVENT_SPECS); RegistryError on a clash."""
    found: Dict[str, Any] = {}
    owner: Dict[str, str] = {}
    for module in modules:
        if getattr(getattr(module, "__spec__", None), "_initializing", False) and not hasattr(module, attr):
            raise RegistryError(f"{module.__name__} is still being imported: use the registry after import")
        for spec in _as_specs(getattr(module, attr, ()), kind, f"{module.__name__}.{attr}"):
            if spec.name in found:
                raise RegistryError(
                    f"{spec.name!r} declared by both {owner[spec.name]} and {module.__name__}"
                )
            found[spec.name], owner[spec.name] = spec, module.__name__
    return found


class _Registry(Mapping[str, S]):
    """A read-only name → spec mapping, collected from the package's modules on first use."""

    def __init__(self, load: Callable[[], Dict[str, S]]) -> None:
        self._load: Callable[[], Dict[str, S]] = load
        self._specs: Optional[Dict[str, S]] = None

    def _all(self) -> Dict[str, S]:
        if self._specs is None:
            self._specs = self._load()
        return self._specs

    def __getitem__(self, name: str) -> S:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self) -> str:
        return f"Registry({sorted(self._all())})"


COMMANDS: Mapping[str, CommandSpec] = _Registry(
    lambda: collect(_message_modules(), "COMMAND_SPECS", CommandSpec)
)
EVENTS: Mapping[str, EventSpec] = _Registry(lambda: collect(_message_modules(), "EVENT_SPECS", EventSpec))


def _command(name: str) -> CommandSpec:
    try:
        return COMMANDS[name]
    except KeyError:
        raise MalformedMessage(f"body.name: unknown command {name[:64]!r}") from None


def decode_args(name: str, args: Mapping[str, Any]) -> Any:
    """Typed arguments of command ``name``; MalformedMessage (or a bound error) names the field."""
    spec = _command(name)
    if spec.args is None:
        b.check_tree(dict(args), "args", b.ARGS)
        return cmd.PingArgs(dict(args))
    return c.decode(spec.args, args, "args")


def decode_output(name: str, output: Mapping[str, Any]) -> Any:
    """Typed output of a result of command ``name`` (unknown keys ignored: newer agents may add some)."""
    return c.decode(_command(name).output, output, "output", strict=False)


def decode_event(name: str, detail: Mapping[str, Any]) -> Any:
    try:
        spec = EVENTS[name]
    except KeyError:
        raise MalformedMessage(f"body.name: unknown event {name[:64]!r}") from None
    return c.decode(spec.body, detail, "detail", strict=False)


def encode(value: Any) -> Dict[str, Any]:
    """JSON-ready args/output/event detail of a contract dataclass."""
    if isinstance(value, cmd.PingArgs):
        return dict(value.payload)
    out = c.encode(value)
    assert isinstance(out, dict)
    return out
