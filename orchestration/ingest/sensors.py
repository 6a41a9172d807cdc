"""Start a run when new files land: one run per batch of new or changed files."""

import hashlib
import json
from datetime import UTC, datetime

from dagster import RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor
from tagwise.orchestration.jobs import daily_refresh
from tagwise.orchestration.resources import TagwiseSettings

from tagwise.contract import SOURCES
from tagwise.ingest import landing_files


def landing_listing(settings: TagwiseSettings) -> dict[str, list[int]]:
    """{file relative to the landing folder: [size, modified ns]} of every landing file."""
    root = settings.landing_path
    if not root.is_dir():
        return {}
    listing = {}
    for source in SOURCES:
        for path in landing_files(root, source):
            stat = path.stat()
            listing[path.relative_to(root).as_posix()] = [stat.st_size, stat.st_mtime_ns]
    return listing


@sensor(job=daily_refresh, minimum_interval_seconds=60)
def landing_sensor(context: SensorEvaluationContext, tagwise: TagwiseSettings):
    seen = json.loads(context.cursor) if context.cursor else {}
    listing = landing_listing(tagwise)
    new = sorted(name for name, stamp in listing.items() if seen.get(name) != stamp)
    if not new:
        return SkipReason(f"no new files under {tagwise.landing_path}")
    batch = hashlib.sha256(json.dumps({n: listing[n] for n in new}).encode()).hexdigest()[:16]
    today = datetime.now(UTC).date().isoformat()
    return SensorResult(
        run_requests=[
            RunRequest(
                run_key=f"landing-{batch}",
                partition_key=today,
                tags={"tagwise/new_files": str(len(new))},
            )
        ],
        cursor=json.dumps(listing),
    )
