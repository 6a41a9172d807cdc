"""`tagwise spark-stop`: the local Spark Connect server."""

from __future__ import annotations

from pathlib import Path

import click

from tagwise.cli.options import console, warehouse_option


@click.command("spark-stop")
@warehouse_option
def spark_stop_command(warehouse: Path) -> None:
    """Stop the local Spark Connect server of this warehouse's Spark folder (tables stay)."""
    from tagwise.spark import SparkSettings, stop_local_server

    settings = SparkSettings.for_warehouse(warehouse)
    stop_local_server(settings)
    console.print(f"no local Spark server runs for {settings.home} now")
