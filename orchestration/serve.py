"""`make dagster`: the Dagster web UI and its daemon for the tagwise code location.

`dagster dev` does this too, but it is superseded (it prints a warning on every start,
pointing at `dg`, which needs a project layout of its own): the UI and the daemon are run
here as a deployment runs them, two processes sharing DAGSTER_HOME, the daemon stopped
when the UI stops (Ctrl-C)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

CODE_LOCATION = ("-m", "tagwise.orchestration.definitions")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="3000")
    options = parser.parse_args(argv)
    tools = Path(sys.executable).parent
    daemon = subprocess.Popen([str(tools / "dagster-daemon"), "run", *CODE_LOCATION])
    try:
        return subprocess.call(
            [
                str(tools / "dagster-webserver"),
                *CODE_LOCATION,
                "-h",
                options.host,
                "-p",
                options.port,
            ]
        )
    except KeyboardInterrupt:
        return 0
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()


if __name__ == "__main__":
    sys.exit(main())
