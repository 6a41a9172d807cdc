"""`tagwise diff` (SPEC 3.9): what a catalog change would do, before it ships.

The working catalogs are built as of the latest build's date D into a scratch copy of the
warehouse, in a temporary folder: never the warehouse itself, the published copy, an
outbox or the history the warehouse keeps, so the last release stays as it was even if
the command is killed. The base is either the warehouse as built (the last release, when
it was released) or the catalogs at a git ref, built the same way into a second scratch
copy. Per tag, segment, audience and destination the diff counts members before and
after, who enters and who leaves (a sample of each, with the reason), the audience
overlap, and the adds, updates and removes each destination's next sync would carry.

People are named by customer_key only: a diff is meant for pull-request comments.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from tagwise.errors import TagwiseError
from tagwise.identity.matching import MATCH_INPUTS_SELECTOR
from tagwise.identity.preview import catalog_file, normalised
from tagwise.identity.preview import compare as compare_identity
from tagwise.identity.preview import snapshot_queries as identity_snapshot_queries
from tagwise.privacy import rows
from tagwise.relations import ref

# The models a catalog decides, in build order, and the seeds of the vocabulary.
DIFF_SELECTION = (
    "tag_taxonomy tag_synonyms int_tags__vocabulary int_tags__rule_matches "
    # Manual actions are checked against the taxonomy: a tag it adds makes them valid.
    "int_tags__manual_actions int_tags__manual_state "
    "int_tags__current "
    "customer_tag_history customer_tags int_segments__inputs int_segments__lookalike_scores "
    "int_segments__assignments segment_membership_history segment_membership "
    "lookalike_quality destination_eligibility destination_audiences audience_overlap"
)
SAMPLE = 5


class DiffError(TagwiseError):
    """The diff cannot be made; the message says why."""


class ThresholdCrossed(TagwiseError):
    """The diff was made and a change crossed the configured threshold."""

    exit_code = 3


@dataclass
class Diff:
    as_of: date
    base: str
    tags: list[dict] = field(default_factory=list)
    segments: list[dict] = field(default_factory=list)
    destinations: list[dict] = field(default_factory=list)
    overlap: list[dict] = field(default_factory=list)
    lookalikes: list[dict] = field(default_factory=list)
    max_change: float | None = None
    # A new definition (no members before) is judged by its size against all customers.
    max_new_share: float | None = None
    customers: int = 0
    # The customers an identity catalog change merges and splits, and its effect on consent
    # (tagwise.identity.preview.compare).
    identity: dict = field(default_factory=dict)

    @property
    def crossed(self) -> list[str]:
        """What turned over (entering + leaving, over members before) by more than
        max_change: a tag, segment or audience, or a destination's sync; and what is new
        and holds more than max_new_share of all customers."""
        found = []
        for kind, items in (
            ("tag", self.tags),
            ("segment", self.segments),
            ("destination", self.destinations),
        ):
            for item in items:
                found += [f"{kind} {item['name']}: {why}" for why in self._crossing(item)]
        return found

    def _crossing(self, item: dict) -> list[str]:
        turnover = item["turnover"]
        if turnover is None:
            return []
        if math.isinf(turnover):
            limit = self.max_new_share
            if limit is None or item["after"] <= limit * self.customers:
                return []
            share = item["after"] / self.customers
            return [f"new, {item['after']:,} members ({share:.0%} of all customers)"]
        if self.max_change is None or turnover <= self.max_change:
            return []
        return [f"{turnover:.0%} turnover"]

    def as_dict(self) -> dict:
        return {
            "as_of_date": self.as_of.isoformat(),
            "base": self.base,
            "max_change": self.max_change,
            "max_new_share": self.max_new_share,
            "customers": self.customers,
            "crossed": self.crossed,
            "tags": self.tags,
            "segments": self.segments,
            "destinations": self.destinations,
            "audience_overlap": self.overlap,
            "lookalikes": self.lookalikes,
            "identity": self.identity,
        }


def _turnover(before: int, entering: int, leaving: int) -> float | None:
    if before == 0:
        return None if entering == 0 else float("inf")
    return (entering + leaving) / before


def _movement(name: str, before: int, after: int, entering: int, leaving: int) -> dict:
    """What tags, segments and destinations all report: members before and after, who
    enters and leaves, and the turnover the threshold reads."""
    return {
        "name": name,
        "before": before,
        "after": after,
        "entering": entering,
        "leaving": leaving,
        "turnover": _turnover(before, entering, leaving),
    }


def _copy_warehouse(warehouse: Path, to: Path) -> None:
    shutil.copyfile(warehouse, to)
    wal = warehouse.with_name(warehouse.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, to.with_name(to.name + ".wal"))


def _git_file(path: Path, revision: str) -> bytes:
    """A file's bytes at a git revision of the repository that holds it."""
    folder = path.resolve().parent
    try:
        top = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--show-toplevel"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as error:
        raise DiffError(f"--base {revision}: {path} is not in a git repository ({error})") from None
    relative = path.resolve().relative_to(Path(top).resolve()).as_posix()
    shown = subprocess.run(
        ["git", "-C", top, "show", f"{revision}:{relative}"], capture_output=True
    )
    if shown.returncode != 0:
        raise DiffError(
            f"--base {revision}: git cannot show {relative} at {revision}: "
            f"{shown.stderr.decode(errors='replace').strip()}"
        )
    return shown.stdout


def base_project(revision: str, into: Path) -> Path:
    """A copy of the dbt project with the team's files (tagwise.project.OWNED) as they were
    at the git revision; returns its dbt project folder. An optional file the folder did
    not hold then (the identity catalog) is the shipped one, as a run then used it."""
    from tagwise.project import GENERATED, OPTIONAL_OWNED, OWNED, owned, root, shipped

    for part in ("dbt_project", "seeds"):
        shutil.copytree(
            root() / part,
            into / part,
            ignore=lambda _folder, names: [n for n in names if n in GENERATED],
            symlinks=False,
        )
    for name, where in OWNED.items():
        target = into / where
        target.unlink(missing_ok=True)
        try:
            content = _git_file(owned(name), revision)
        except DiffError:
            if name not in OPTIONAL_OWNED:
                raise
            content = (shipped() / where).read_bytes()
        target.write_bytes(content)
    return into / "dbt_project"


# What the comparison reads from a built warehouse: (name, query).
def _snapshot_queries() -> tuple[tuple[str, str], ...]:
    return (
        (
            "tags",
            f"select customer_key, tag as name, evidence as reason from {ref('customer_tags')}",
        ),
        (
            "members",
            f"select customer_key, segment as name, segment_type, reason from {ref('segment_membership')}",
        ),
        (
            "exits",
            f"select customer_key, segment as name, exit_reason from {ref('segment_membership_history')} "
            f"where exited_on = (select as_of_date from {ref('build_info')})",
        ),
        ("audiences", f"select destination, key from {ref('destination_audiences')}"),
        (
            "overlap",
            f"select audience_a, audience_b, members_a, members_b, shared_members, jaccard "
            f"from {ref('audience_overlap')} where as_of_date = (select as_of_date from {ref('build_info')})",
        ),
        (
            "lookalikes",
            "select lookalike, seed, audience_size, held_out_size, recall, random_recall, lift "
            f"from {ref('lookalike_quality')}",
        ),
        *identity_snapshot_queries(),
    )


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    schema, name = table.split(".")
    return {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_catalog = current_database() and table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    }


def _snapshot(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """Copy what the comparison reads into `schema` of the same scratch file; a table the
    warehouse does not have yet (built before it existed) is copied empty."""
    con.execute(f"create schema if not exists {schema}")
    empty = {
        "tags": "select null::varchar customer_key, null::varchar name, null::varchar reason",
        "members": "select null::varchar customer_key, null::varchar name, null::varchar segment_type, null::varchar reason",
        "exits": "select null::varchar customer_key, null::varchar name, null::varchar exit_reason",
        "audiences": "select null::varchar destination, null::varchar key",
        "overlap": "select null::varchar audience_a, null::varchar audience_b, 0::bigint members_a, "
        "0::bigint members_b, 0::bigint shared_members, 0::double jaccard",
        "links": "select null::varchar customer_id, null::varchar linked_customer_id, null::varchar rule",
        "lookalikes": "select null::varchar lookalike, null::varchar seed, 0::bigint audience_size, "
        "0::bigint held_out_size, 0::double recall, 0::double random_recall, 0::double lift",
    }
    reasons = "reason" in _columns(con, ref("segment_membership"))
    exits = "exit_reason" in _columns(con, ref("segment_membership_history"))
    overlap = bool(_columns(con, ref("audience_overlap")))
    links = bool(_columns(con, ref("identity_links")))
    lookalikes = bool(_columns(con, ref("lookalike_quality")))
    for name, query in _snapshot_queries():
        if (
            (name == "members" and not reasons)
            or (name == "exits" and not exits)
            or (name == "overlap" and not overlap)
            or (name == "links" and not links)
            or (name == "lookalikes" and not lookalikes)
        ):
            if name == "members":
                query = query.replace(", reason from", ", null::varchar as reason from")
            else:
                query = empty[name] + " where false"
        con.execute(f"create or replace table {schema}.{name} as {query}")


def _destination_changes(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """What each destination's next sync would carry from this build: adds, updates,
    removes against what the destination holds (tagwise.activation.changes.compute_changes)."""
    from tagwise.activation.changes import compute_changes, create_state_tables
    from tagwise.activation.destinations import destinations

    con.execute(
        f"create or replace table {schema}.sync_changes "
        "(destination varchar, change varchar, people bigint)"
    )
    create_state_tables(con)
    for name in sorted(destinations()):
        compute_changes(con, name)
        con.execute(
            f"insert into {schema}.sync_changes select $d, change, count(*) from _changes group by change",
            {"d": name},
        )


def _build(
    scratch: Path,
    as_of: date,
    project_dir: Path | None,
    schema: str,
    on_progress: Callable[[str, int, int], None] | None,
    identity: dict | None = None,
) -> None:
    """Build the catalogs' models into the scratch copy; with `identity` (the catalog's
    normalised meta), identity and everything after it, as a run does: the probabilistic
    rule's inputs, the rule, then the rest."""
    from tagwise.dbt import PRODUCTION_EXCLUDE, DbtSettings, run_dbt
    from tagwise.dbt_project import PROJECT_DIR
    from tagwise.identity.matching import match_identities

    step = "building the base catalogs" if schema == "before" else "building the working catalogs"
    settings = DbtSettings(scratch, as_of, project_dir=project_dir or PROJECT_DIR)

    def build(select: str, exclude: str = "") -> None:
        run_dbt(
            settings,
            "build",
            select=select,
            # The unit tests check the macros, not this build's data; the data tests stay: a
            # change that breaks one (two primary segments for someone) is refused here too.
            exclude=" ".join(filter(None, (PRODUCTION_EXCLUDE, exclude))),
            quiet=True,
            on_progress=(lambda done, total: on_progress(step, done, total))
            if on_progress
            else None,
        )

    if identity is None:
        build(DIFF_SELECTION)
    elif identity["probabilistic"]:
        build(MATCH_INPUTS_SELECTOR)
        # Splink's training notes belong in a run's log, not in a preview's output.
        splink = logging.getLogger("splink")
        level = splink.level
        splink.setLevel(logging.ERROR)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                match_identities(scratch, as_of, identity["probabilistic"])
        finally:
            splink.setLevel(level)
        build("fqn:*", exclude=MATCH_INPUTS_SELECTOR)
    else:
        build("fqn:*")
    with duckdb.connect(str(scratch)) as con:
        _snapshot(con, schema)
        _destination_changes(con, schema)


def _compare(con: duckdb.DuckDBPyConnection, table: str, sample: int) -> list[dict]:
    """Per name: members before and after, entering and leaving, and samples of each. A
    member who leaves a segment gives the exit reason the new build recorded, else what
    placed them before."""
    members = table == "members"
    kind = "segment_type" if members else "null::varchar"
    # Who leaves a segment: the exit reason the new build recorded; a membership that
    # began on D itself has none (the scratch build rewinds D), so where the person went
    # and what had placed them.
    exits = (
        "left join after.exits as exits "
        "on before_rows.customer_key = exits.customer_key and before_rows.name = exits.name "
        "left join after.members as now_in "
        "on before_rows.customer_key = now_in.customer_key and now_in.segment_type = 'primary' "
        "and before_rows.segment_type = 'primary'"
        if members
        else ""
    )
    leaving_reason = (
        "coalesce(exits.exit_reason, concat_ws('; ', 'now in ' || now_in.name || ' (' || now_in.reason || ')', "
        "'was: ' || before_rows.reason))"
        if members
        else "'was: ' || before_rows.reason"
    )
    rows = con.execute(
        f"""
        with names as (
            select name, max(kind) as kind from (
                select name, {kind} as kind from before.{table}
                union all
                select name, {kind} as kind from after.{table}
            ) group by name
        ),
        before_counts as (select name, count(*) as people from before.{table} group by name),
        after_counts as (select name, count(*) as people from after.{table} group by name),
        entering as (
            select
                after_rows.name,
                count(*) as people,
                list({{'customer_key': after_rows.customer_key, 'reason': after_rows.reason}}
                    order by after_rows.customer_key)[1:{sample}] as people_sample
            from after.{table} as after_rows
            left join before.{table} as before_rows
                on after_rows.customer_key = before_rows.customer_key and after_rows.name = before_rows.name
            where before_rows.customer_key is null
            group by after_rows.name
        ),
        leaving as (
            select
                before_rows.name,
                count(*) as people,
                list({{'customer_key': before_rows.customer_key, 'reason': {leaving_reason}}}
                    order by before_rows.customer_key)[1:{sample}] as people_sample
            from before.{table} as before_rows
            left join after.{table} as after_rows
                on after_rows.customer_key = before_rows.customer_key and after_rows.name = before_rows.name
            {exits}
            where after_rows.customer_key is null
            group by before_rows.name
        )
        select
            names.name,
            names.kind,
            coalesce(before_counts.people, 0),
            coalesce(after_counts.people, 0),
            coalesce(entering.people, 0),
            coalesce(leaving.people, 0),
            entering.people_sample,
            leaving.people_sample
        from names
        left join before_counts using (name)
        left join after_counts using (name)
        left join entering using (name)
        left join leaving using (name)
        order by names.kind desc nulls first, names.name
        """
    ).fetchall()
    return [
        _movement(name, before, after, entering, leaving)
        | ({"type": kind} if kind else {})
        | {
            "entering_sample": entering_sample or [],
            "leaving_sample": leaving_sample or [],
        }
        for name, kind, before, after, entering, leaving, entering_sample, leaving_sample in rows
    ]


def _destinations(con: duckdb.DuckDBPyConnection) -> list[dict]:
    rows = con.execute(
        """
        with names as (
            select destination from before.audiences
            union
            select destination from after.audiences
            union
            select destination from after.sync_changes
        ),
        before_counts as (select destination, count(*) as people from before.audiences group by destination),
        after_counts as (select destination, count(*) as people from after.audiences group by destination),
        entering as (
            select destination, count(*) as people
            from after.audiences anti join before.audiences using (destination, key)
            group by destination
        ),
        leaving as (
            select destination, count(*) as people
            from before.audiences anti join after.audiences using (destination, key)
            group by destination
        ),
        syncs as (
            select
                destination,
                sum(case when side = 'before' and change = 'add' then people else 0 end) as add_before,
                sum(case when side = 'before' and change = 'update' then people else 0 end) as update_before,
                sum(case when side = 'before' and change = 'remove' then people else 0 end) as remove_before,
                sum(case when side = 'after' and change = 'add' then people else 0 end) as add_after,
                sum(case when side = 'after' and change = 'update' then people else 0 end) as update_after,
                sum(case when side = 'after' and change = 'remove' then people else 0 end) as remove_after
            from (
                select 'before' as side, * from before.sync_changes
                union all
                select 'after' as side, * from after.sync_changes
            )
            group by destination
        )
        select
            names.destination,
            coalesce(before_counts.people, 0),
            coalesce(after_counts.people, 0),
            coalesce(entering.people, 0),
            coalesce(leaving.people, 0),
            coalesce(add_before, 0), coalesce(update_before, 0), coalesce(remove_before, 0),
            coalesce(add_after, 0), coalesce(update_after, 0), coalesce(remove_after, 0)
        from names
        left join before_counts using (destination)
        left join after_counts using (destination)
        left join entering using (destination)
        left join leaving using (destination)
        left join syncs using (destination)
        order by names.destination
        """
    ).fetchall()
    return [
        _movement(name, before, after, entering, leaving)
        | {
            "next_sync_before": {"add": int(add0), "update": int(update0), "remove": int(remove0)},
            "next_sync_after": {"add": int(add1), "update": int(update1), "remove": int(remove1)},
        }
        for name, before, after, entering, leaving, add0, update0, remove0, add1, update1, remove1 in rows
    ]


SNAPSHOT_TABLES = (*(name for name, _query in _snapshot_queries()), "sync_changes")


def _identity_rebuilds(warehouse: Path, base_folder: Path | None) -> dict[str, dict | None]:
    """Per side ("before", "after"), the identity catalog to rebuild identity with, or None
    where the side keeps the warehouse's identity (tagwise.identity.preview.sides)."""
    from tagwise.catalog import check_identity_catalog
    from tagwise.dbt_project import PROJECT_DIR
    from tagwise.identity.preview import built_catalog, sides

    with duckdb.connect(str(warehouse), read_only=True) as con:
        built = built_catalog(con)
    after = normalised(check_identity_catalog(catalog_file(PROJECT_DIR)))
    before = normalised(check_identity_catalog(catalog_file(base_folder))) if base_folder else None
    rebuilds, refused = sides(built, before, after)
    if refused:
        raise DiffError(refused)
    return rebuilds


def diff(
    warehouse: Path,
    base: str | None = None,
    as_of: date | None = None,
    sample: int = SAMPLE,
    max_change: float | None = None,
    max_new_share: float | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> Diff:
    """Build the working catalogs (and a git revision's, when `base` names one) into
    scratch copies of the warehouse and compare them; `on_progress(step, finished,
    total)` hears of each dbt node of a build as it finishes."""
    from tagwise.paths import scratch_folder
    from tagwise.privacy import latest_build

    scratch = scratch_folder(warehouse)
    with tempfile.TemporaryDirectory(prefix=f"diff-{os.getpid()}-", dir=scratch) as folder:
        work = Path(folder)
        after_copy, base_copy = work / "working.duckdb", work / "base.duckdb"
        # Copied under the shared lock: no run writes the warehouse meanwhile.
        with latest_build(warehouse) as (_con, _tables, built):
            if as_of is not None and as_of != built:
                raise DiffError(
                    f"the warehouse holds the build as of {built}, not {as_of}; a diff is made "
                    "as of the latest build: leave out --as-of, or run `tagwise run` as of that date first"
                )
            _copy_warehouse(warehouse, after_copy)
            if base is not None:
                _copy_warehouse(warehouse, base_copy)
        base_folder = base_project(base, work / "base_project") if base is not None else None
        identity = _identity_rebuilds(after_copy, base_folder)
        if base_folder is None:
            with duckdb.connect(str(after_copy)) as con:
                _snapshot(con, "before")
                _destination_changes(con, "before")
            label = f"the warehouse as built ({built})"
        else:
            _build(base_copy, built, base_folder, "before", on_progress, identity["before"])
            label = f"the catalogs at {base}"
        _build(after_copy, built, None, "after", on_progress, identity["after"])
        with duckdb.connect(str(after_copy)) as con:
            if base is not None:
                con.execute(f"attach '{base_copy}' as base_file (read_only)")
                con.execute("create schema if not exists before")
                for name in SNAPSHOT_TABLES:
                    con.execute(
                        f"create or replace table before.{name} as select * from base_file.before.{name}"
                    )
            result = Diff(as_of=built, base=label, max_change=max_change)
            result.max_new_share = max_new_share
            result.customers = con.execute(
                f"select count(*) from {ref('dim_customers')}"
            ).fetchone()[0]
            result.tags = _compare(con, "tags", sample)
            result.segments = _compare(con, "members", sample)
            result.destinations = _destinations(con)
            result.identity = compare_identity(con, sample, rebuilt=identity["after"] is not None)
            result.overlap = rows(
                con,
                """
                select a.audience_a, a.audience_b, a.members_a, a.members_b,
                    a.shared_members as shared, a.jaccard, b.jaccard as jaccard_before
                from after.overlap a
                left join before.overlap b using (audience_a, audience_b)
                order by a.jaccard desc, a.audience_a, a.audience_b
                """,
            )
            # SPEC 3.10: each lookalike's quality after, beside its lift before.
            result.lookalikes = rows(
                con,
                "select a.*, b.lift as lift_before from after.lookalikes a "
                "left join before.lookalikes b using (lookalike) order by a.lookalike",
            )
    return result
