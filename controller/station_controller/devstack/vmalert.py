"""Our own vmalert: evaluates monitoring/alerts/*.yml against VictoriaMetrics, notifies Alertmanager.

The rule files are copied into ``{data_dir}/rules`` first, tuned (:func:`render_rules`): every group's
``interval`` becomes the evaluation interval and a rule's threshold (the constant after its expression's
last ``>``) and ``for`` can be overridden, so `make run` and the tests use short tolerances with the same
rules production uses.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml  # type: ignore[import-untyped]  # PyYAML comes with ansible-runner

from ..alerts import amconfig
from ..settings import Settings
from .alertmanager import AlertmanagerService
from .errors import PortInUse, ServiceStartError
from .ports import free_port, port_is_free
from .processes import ManagedProcess, http_ok, run_tool

logger = logging.getLogger(__name__)

RULES_DIR = Path(__file__).resolve().parents[3] / "monitoring" / "alerts"
_LAST_THRESHOLD = re.compile(r">\s*[0-9.e+]+\s*$")


@dataclass(frozen=True)
class RuleTuning:
    """Override of one alert rule: the threshold after its last ``>`` and/or its ``for`` (seconds)."""

    threshold: float | None = None
    for_s: float | None = None


def _tune(rule: dict[str, Any], tuning: RuleTuning) -> None:
    if tuning.threshold is not None:
        expr = str(rule["expr"]).rstrip()
        if not _LAST_THRESHOLD.search(expr):
            raise ServiceStartError(f"rule {rule['alert']}: no '> <number>' at the end to tune")
        rule["expr"] = _LAST_THRESHOLD.sub(f"> {tuning.threshold:g}", expr)
    if tuning.for_s is not None:
        rule["for"] = f"{round(tuning.for_s)}s"


def render_rules(
    out_dir: Path,
    *,
    sources: Sequence[Path] | None = None,
    interval_s: float | None = None,
    tuning: Mapping[str, RuleTuning] | None = None,
) -> list[Path]:
    """Write tuned copies of ``sources`` (default: monitoring/alerts/*.yml) to ``out_dir``; their paths."""
    tuning = dict(tuning or {})
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sources if sources is not None else sorted(RULES_DIR.glob("*.yml")):
        doc = yaml.safe_load(source.read_text(encoding="utf-8"))
        for group in doc["groups"]:
            if interval_s is not None:
                group["interval"] = f"{max(1, round(interval_s))}s"
            for rule in group["rules"]:
                if rule.get("alert") in tuning:
                    _tune(rule, tuning.pop(rule["alert"]))
        target = out_dir / source.name
        target.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
        written.append(target)
    if tuning:
        raise ServiceStartError(f"tuning names rules that do not exist: {sorted(tuning)}")
    return written


def dry_run(rule_files: Sequence[Path], *, binary: str = "vmalert") -> None:
    """``vmalert -dryRun``: parse every rule file and expression; raises ServiceStartError on an error."""
    run_tool([_which(binary), "-dryRun", *(f"-rule={path}" for path in rule_files)], timeout_s=60)


class VmalertService:
    """A vmalert process; its API at ``{url}/api/v1/alerts`` and ``{url}/api/v1/rules``."""

    def __init__(
        self,
        *,
        data_dir: Path,
        datasource_url: str,
        notifier_url: str,
        port: int | None = None,
        host: str = "127.0.0.1",
        interval_s: float = 60.0,
        tuning: Mapping[str, RuleTuning] | None = None,
        sources: Sequence[Path] | None = None,
        binary: str = "vmalert",
        start_timeout_s: float = 30.0,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.interval_s = interval_s
        self.start_timeout_s = start_timeout_s
        self._rules = dict(tuning or {})
        self._sources = sources
        self._binary = binary
        self._datasource_url = datasource_url
        self._notifier_url = notifier_url
        self._process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    def _argv(self, rule_files: Sequence[Path]) -> list[str]:
        return [
            _which(self._binary),
            *(f"-rule={path}" for path in rule_files),
            f"-datasource.url={self._datasource_url}",
            f"-notifier.url={self._notifier_url}",
            f"-httpListenAddr={self.host}:{self.port}",
            f"-evaluationInterval={max(1, round(self.interval_s))}s",
            f"-external.url={self.url}",
        ]

    def start(self) -> None:
        """Render the rules, start and wait for ``/health``.

        Raises:
            PortInUse: something else listens on our port.
            ServiceStartError: a rule does not parse, or vmalert exited or never answered.
        """
        if self.running:
            return
        if not port_is_free(self.port, self.host):
            raise PortInUse(f"port {self.host}:{self.port} is taken: stop the other program or choose a port")
        files = render_rules(
            self.data_dir / "rules", sources=self._sources, interval_s=self.interval_s, tuning=self._rules
        )
        self._process = ManagedProcess(
            name="vmalert", argv=self._argv(files), log_file=self.data_dir / "vmalert.log"
        )
        self._process.start(ready=lambda: http_ok(f"{self.url}/health"), timeout_s=self.start_timeout_s)
        logger.info("vmalert on %s evaluating %d rule files", self.url, len(files))

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop(timeout_s=15.0)


def _which(binary: str) -> str:
    found = shutil.which(binary) or shutil.which(binary, path="/usr/bin:/usr/sbin")
    if found is None:
        raise ServiceStartError(
            f"{binary} not found: run `make setup` (installs the victoria-metrics package)"
        )
    return found


def offline_tuning(*, after_s: float, for_s: float) -> dict[str, RuleTuning]:
    """The two "no telemetry" rules tuned to one tolerance (``after_s`` silence held ``for_s``)."""
    tuning = RuleTuning(threshold=after_s, for_s=for_s)
    return {"DeviceOffline": tuning, "PortalRouterUnreachable": tuning}


def _claim_url(settings: Settings, field: str, default_port: int) -> str:
    """The setting's URL; when it was not set and its default port is taken (another stack, a test
    run), a free port instead, exported so the controller started after us uses the same URL."""
    env_name = f"STATION_{field.upper()}"
    url = urlsplit(str(getattr(settings, field)))
    host, port = url.hostname or "127.0.0.1", url.port or default_port
    if env_name in os.environ or port_is_free(port, host):
        return str(getattr(settings, field))
    chosen = f"http://{host}:{free_port(host)}"
    logger.info("%s: port %d is taken; using %s", field, port, chosen)
    os.environ[env_name] = chosen
    setattr(settings, field, chosen)
    return chosen


def start_alerting(settings: Settings, data_dir: Path) -> list[tuple[str, Callable[[], None]]]:
    """Alertmanager, then vmalert, on the settings' URLs; (name, stop) pairs in start order.

    Raises:
        DevstackError: one of them did not start (the other is stopped again).
    """
    am_url = urlsplit(_claim_url(settings, "alerts_alertmanager_url", 9093))
    vm_url = urlsplit(_claim_url(settings, "alerts_vmalert_url", 8880))
    manager = AlertmanagerService(
        data_dir=data_dir / "alertmanager",
        config_text=amconfig.render(settings),
        host=am_url.hostname or "127.0.0.1",
        port=am_url.port or 9093,
    )
    manager.start()
    evaluator = VmalertService(
        data_dir=data_dir / "vmalert",
        datasource_url=settings.tsdb_query_url,
        notifier_url=manager.url,
        host=vm_url.hostname or "127.0.0.1",
        port=vm_url.port or 8880,
        interval_s=settings.alerts_eval_interval_s,
        tuning=offline_tuning(after_s=settings.alerts_offline_after_s, for_s=settings.alerts_offline_for_s),
    )
    try:
        evaluator.start()
    except BaseException:
        manager.stop()
        raise
    return [("alertmanager", manager.stop), ("vmalert", evaluator.stop)]
