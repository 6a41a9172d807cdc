"""`tagwise access-report`: everything held about one person."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from tagwise.cli.options import console, exports_option, parse_day, warehouse_option


@click.command("access-report")
@click.argument("identifier")
@warehouse_option
@exports_option
@click.option(
    "--as-of",
    "as_of",
    callback=parse_day,
    default=None,
    help="Only if the latest build is as of this date (default: the latest build, whatever its date).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="JSON file to write [default: access-reports/<customer_key>-<D>.json beside the "
    "warehouse, removed by the erasure pass if the person is erased]; never the exports "
    "outbox, the warehouse or the published copy.",
)
def access_report_command(
    identifier: str, warehouse: Path, exports: Path, as_of: date | None, out: Path | None
) -> None:
    """Write everything held about one person (any customer id or email ever held) as JSON,
    from the latest finished build."""
    from tagwise.activation.redaction import access_report_path, access_reports_folder
    from tagwise.paths import refuse_collisions
    from tagwise.privacy import access_report, write_report

    refuse_collisions(warehouse, exports=exports, report=out or access_reports_folder(warehouse))
    report = access_report(warehouse, identifier, as_of)
    key = report["customer_key"] or "not-found"
    path = write_report(report, out or access_report_path(warehouse, key, report["as_of_date"]))
    console.print(
        f"access report ({report['status']}) as of the build of {report['as_of_date']} "
        f"written to {path}"
    )
