"""Run a JupiterSupervisor over the stand-in in its own process (for the SIGKILL test).

usage: python run_supervisor.py STATE_DIR CONTROL_DIR PORT
"""

from __future__ import annotations

import sys

import trio

from galileo._config import Config, JupiterConfig, LaunchConfig, ProcessConfig
from galileo.jupiter_binary import JupiterSupervisor

FAKE = __file__.replace("run_supervisor.py", "fake_jupiter.py")


def main() -> None:
    state_dir, control_dir, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    config = Config(
        state_dir=state_dir,
        jupiter=JupiterConfig(
            source="path",
            path=FAKE,
            launch=LaunchConfig(port=port, env={"FAKE_JUPITER_DIR": control_dir}),
            process=ProcessConfig(startup_timeout_s=30, health_interval_s=0.2, stop_grace_s=2),
        ),
    )
    supervisor = JupiterSupervisor(config, executable=[sys.executable, FAKE], version="fake")
    trio.run(supervisor.run)


if __name__ == "__main__":
    main()
