"""The import contracts (.importlinter) hold on the tree and catch a broken boundary.

``lint-imports`` runs on a copy of our five packages with the copy first on PYTHONPATH, so an import
added to the copy is what it sees; each case adds one offending import and expects the contract named
in the output to be BROKEN, with the offending module named. The untouched copy must pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# (folder on sys.path, package) for each root package of .importlinter
PACKAGES = [
    ("protocol", "station_protocol"),
    ("agent", "station_agent"),
    ("controller", "station_controller"),
    ("stationctl/src", "stationctl"),
    ("simulator/src", "station_simulator"),
]


@dataclass(frozen=True)
class Breach:
    module: str  # dotted module that gets the extra import
    line: str  # the offending import
    contract: str  # contract name as in .importlinter
    shows: str  # text the report must contain (the offending link)


BREACHES = [
    Breach(
        "station_agent.backoff",
        "import station_controller.settings",
        "station_agent and station_controller never import each other",
        "station_agent.backoff -> station_controller.settings",
    ),
    Breach(
        "station_agent.telemetry",
        "import psutil",
        "psutil: only the agent's system_metrics",
        "station_agent.telemetry -> psutil",
    ),
    Breach(
        "station_protocol.topics",
        "import stationctl.chunker",  # not agent/controller: those would also break agent ⟂ controller
        "station_protocol imports nothing of ours",
        "station_protocol.topics -> stationctl.chunker",
    ),
    Breach(
        "stationctl.client",
        "import station_controller.errors",
        "stationctl imports neither the agent nor the controller",
        "stationctl.client -> station_controller.errors",
    ),
    Breach(
        "station_controller.registry.models",
        "import station_controller.registry.routes",
        "Controller features: routes above service above models",
        "station_controller.registry.models -> station_controller.registry.routes",
    ),
    Breach(
        "station_agent.gateway.ruleset",
        "import subprocess",
        "subprocess: one importer per program",
        "station_agent.gateway.ruleset -> subprocess",
    ),
    Breach(
        "station_controller.tsdb.writer",
        "import influxdb_client",
        "influxdb_client: only the TSDB writer adapter",
        "station_controller.tsdb.writer -> influxdb_client",
    ),
    Breach(
        "station_simulator.worker",
        "import stationctl.chunker",  # not agent/controller: those would also break agent ⟂ controller
        "station_simulator imports only the protocol of ours",
        "station_simulator.worker -> stationctl.chunker",
    ),
    Breach(
        "station_controller.devstack.run",
        "import station_simulator.config",
        "station_controller, station_agent and stationctl never import the simulator",
        "station_controller.devstack.run -> station_simulator.config",
    ),
    Breach(
        "station_controller.cli",
        "import station_controller.devstack.ports",
        "the dev stack is development tooling",
        "station_controller.cli -> station_controller.devstack.ports",
    ),
    Breach(
        "station_simulator.device",
        "import paho.mqtt.client",
        "paho: one importer per program",
        "station_simulator.device -> paho",
    ),
]


def _copy_tree(dest: Path) -> None:
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder, package in PACKAGES:
        shutil.copytree(ROOT / folder / package, dest / folder / package, ignore=skip)
    shutil.copy2(ROOT / ".importlinter", dest / ".importlinter")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(tree / folder) for folder, _ in PACKAGES)
    env["COLUMNS"] = "400"  # one line per contract in the report, so names are matched whole
    return subprocess.run(
        [str(LINT_IMPORTS), str(tree / ".importlinter"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _module_file(tree: Path, module: str) -> Path:
    package = module.split(".")[0]
    folder = next(f for f, p in PACKAGES if p == package)
    return tree / folder / (module.replace(".", "/") + ".py")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("contracts") / "tree"
    _copy_tree(tree)
    return tree


def test_the_tree_keeps_every_contract(pristine: Path) -> None:
    result = _lint(pristine)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout
    assert " 0 broken" in result.stdout


@pytest.mark.parametrize("breach", BREACHES, ids=lambda b: b.module + ":" + b.line.split()[-1])
def test_an_offending_import_breaks_its_contract(pristine: Path, tmp_path: Path, breach: Breach) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(pristine, tree)
    target = _module_file(tree, breach.module)
    source = target.read_text(encoding="utf-8")
    target.write_text(source + f"\n{breach.line}  # noqa: added by test_import_contracts\n", encoding="utf-8")

    result = _lint(tree)

    report = result.stdout + result.stderr
    assert result.returncode == 1, report
    broken = [line for line in report.splitlines() if line.endswith("BROKEN")]
    assert len(broken) == 1, report  # exactly the contract this import breaks
    assert broken[0].startswith(breach.contract), report
    assert breach.shows in report, report
