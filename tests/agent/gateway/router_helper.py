"""The router side of the namespace tests: the real gateway (nft, tc, splash) driven over stdin/stdout.

One JSON request per line → one JSON answer per line:
    {"op": "config", "version": 1, "config": {...}}   DesiredConfig.offer (the agent's code path)
    {"op": "cmd", "name": "portal.allow", "args": {...}}  the command handler
    {"op": "enforce"}
At start it does what the agent does: ``DesiredConfig.restore()`` from state.db.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Dict

from station_agent.commands import CommandContext
from station_agent.commands.portal import PortalCommands
from station_agent.config import GatewaySettings
from station_agent.desired_config import DesiredConfig
from station_agent.errors import AgentError
from station_agent.gateway.build import GatewayPortal, build_gateway
from station_agent.outbox import Outbox
from station_agent.state import StateStore
from station_agent.tunables import Tunables
from station_protocol import ConfigDesired

DEVICE = "rt-netns"


def main(state_dir: str) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    store = StateStore.open(Path(state_dir) / "state.db")
    outbox = Outbox(store, max_messages=10000, max_bytes=1 << 24, device_id=DEVICE)
    gateway = build_gateway(
        GatewaySettings(ifb_device="sfifb0"), device_id=DEVICE, store=store, outbox=outbox
    )
    desired = DesiredConfig(
        device_id=DEVICE,
        store=store,
        outbox=outbox,
        tunables=Tunables(telemetry_interval_s=30, command_timeout_s=30),
        portal=GatewayPortal(gateway),
    )
    desired.restore()
    handlers = PortalCommands(gateway).handlers()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        answer: Dict[str, Any]
        try:
            if request["op"] == "config":
                report = desired.offer(ConfigDesired(version=request["version"], config=request["config"]))
                answer = {"status": report.status, "error": report.error}
            elif request["op"] == "cmd":
                ctx = CommandContext(
                    command_id="x", name=request["name"], args=request["args"], sent_ms=0, received_ms=0
                )
                answer = {"status": "ok", "output": handlers[request["name"]](ctx)}
            else:
                answer = {"status": "ok", "ended": gateway.enforce()}
        except AgentError as exc:
            answer = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(answer), flush=True)
    gateway.close()
    store.close()


if __name__ == "__main__":
    main(sys.argv[1])
