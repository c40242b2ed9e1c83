"""Station simulator (`station-sim`): many real MQTT 5 sessions, one enrolled credential each."""

from .config import SimulationConfig, SimulationSummary
from .runner import InProcessSimulation, run_simulation

__all__ = ["InProcessSimulation", "SimulationConfig", "SimulationSummary", "run_simulation"]
