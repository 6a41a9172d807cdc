"""Every setting tagwise reads from the environment, in one place.

Each field is a variable `TAGWISE_<NAME>` (SPARK_REMOTE keeps Spark's own name), set in the
environment or in the deployment folder's `tagwise.env` (tagwise.project); the
environment wins. Settings are read once per process, by `current()`; relative paths in
them are relative to the deployment folder. Commands and the Dagster resource take their
defaults from them, and a command-line option or a run's config overrides them. The
README's Configuration table is `python -m tagwise.settings`.
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "TAGWISE_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True, extra="ignore")

    project: Path = Field(
        Path("."),
        description="the deployment folder (`tagwise init`): catalogs, seeds and `tagwise.env`; "
        "a command's `--project` sets it",
    )
    landing: Path = Field(
        Path("data/landing"), description="landing directory: one folder per source"
    )
    warehouse: Path = Field(Path("data/warehouse.duckdb"), description="DuckDB warehouse file")
    target: Literal["duckdb", "spark"] = Field(
        "duckdb",
        description="engine: `duckdb` or `spark` (the dbt target in `dbt_project/profiles.yml`)",
    )
    exports: Path = Field(
        Path("exports"), description="where change sets and audience snapshots are written"
    )
    published: Path | None = Field(
        None, description="the BI copy; default: `published.duckdb` beside the warehouse"
    )
    publish_identifiers: bool = Field(
        False,
        description="the BI copy keeps direct identifiers (email, phone, names, postal code, birth date, destination keys and change payloads); by default it leaves them out and keeps customer_key, age and the rest",
    )
    first_as_of: date = Field(
        date(1997, 1, 1),
        description="the first as-of date Dagster offers as a daily partition; the last is today (UTC)",
    )
    threads: int = Field(2, ge=1, description="dbt threads")
    # At a million customers dbt built in the same time with 4GB as with 8GB (88 s and
    # 90 s) and its process peaked at 4.1 GiB instead of 6.1 GiB: the whole run is to stay
    # within 6 GiB (`make bench`).
    memory_limit: str = Field(
        "4GB", description="DuckDB memory limit of dbt's runs; beyond it DuckDB spills to disk"
    )
    temp_dir: str = Field(
        "", description="where DuckDB spills; empty: `<warehouse>.tmp`, DuckDB's default for a file"
    )
    spark_remote: str = Field(
        "local[2]",
        validation_alias=AliasChoices("SPARK_REMOTE"),
        description="Spark target: a local server with N cores, or `sc://host:port` of a cluster",
    )
    spark_home: Path | None = Field(
        None,
        description="Spark target: the local server's tables, metastore and logs; default: `spark/` beside the warehouse",
    )
    spark_driver_memory: str = Field("6g", description="Spark target: memory of the local server")
    spark_shuffle_partitions: int = Field(
        4, ge=1, description="Spark target: shuffle partitions of the local server"
    )
    max_tags_per_customer: int = Field(
        8, description="release gate: more tags than this per customer is a warning"
    )
    max_segment_size_change: float = Field(
        0.5,
        description="release gate: the largest change of a segment's size since the last good run (share)",
    )
    min_segment_size_for_change: int = Field(
        100, description="release gate: segments smaller than this may change size freely"
    )
    diff_max_change: float = Field(
        0.3,
        ge=0,
        allow_inf_nan=False,
        description="tagwise diff: exit non-zero when a tag, segment, audience or destination turns over (entering + leaving, over members before) by more than this share",
    )
    diff_max_new_share: float = Field(
        0.5,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="tagwise diff: exit non-zero when a new tag, segment, audience or destination (no members before) holds more than this share of all customers (a new definition has no turnover to judge; one that takes in most people is usually a broken condition)",
    )
    sync_hold_share: float = Field(
        0.2,
        description="destinations: a sync whose adds or removes are more than this share of the acknowledged audience is held",
    )
    sync_hold_min_people: int = Field(
        100,
        description="destinations: a sync is held only when those adds or removes are this many people or more",
    )
    webhook_url: str = Field(
        "",
        description="webhook destination: the URL its change batches are POSTed to; empty: not configured, nothing is sent",
    )
    webhook_auth_header: SecretStr | None = Field(
        None,
        description="webhook destination: a header sent with every batch, as `Name: value` (e.g. `Authorization: Bearer ...`)",
    )
    webhook_batch_size: int = Field(
        500, ge=1, description="webhook destination: change rows per POST"
    )
    webhook_max_tries: int = Field(
        5,
        ge=1,
        description="webhook destination: tries of one batch per run before the run gives up on it",
    )
    webhook_backoff: float = Field(
        1.0,
        ge=0,
        description="webhook destination: a failed batch is tried again at once, then after this many seconds, doubled for each next try (a `Retry-After` wins)",
    )
    webhook_timeout: float = Field(
        30.0, gt=0, description="webhook destination: seconds to wait for a response"
    )
    webhook_deadline: float = Field(
        600.0,
        gt=0,
        description="webhook destination: seconds one run's delivery may take in all (a receiver that drips its answer byte by byte never trips the per-read timeout); past it the sync stays pending",
    )
    max_feature_shift: float = Field(
        0.5,
        description="release gate: the largest move of a feature's mean since the last good run, in that run's standard deviations",
    )
    max_population_mean_change: float = Field(
        0.5,
        description="release gate: the largest change of a population mean of the model's fit (purchase rate, dropout, order value) since the last good run (share)",
    )
    min_customers_for_drift: int = Field(
        1000,
        description="release gate: features and the fit are compared with the last good run only when it had this many customers or more",
    )
    model_holdout_weeks: int = Field(
        13,
        ge=1,
        description="model: each run fits on the purchases up to this many weeks before D and stores how well that fit predicts the purchases since (the fit_quality table of the model schema)",
    )
    daily_cron: str = Field("0 6 * * *", description="the daily schedule's time (UTC)")
    weekly_cron: str = Field("0 7 * * 1", description="the weekly review schedule's time (UTC)")
    quarterly_cron: str = Field(
        "0 7 1 1,4,7,10 *",
        description="the quarterly tag review's time (UTC): `tagwise suggest` on the latest build",
    )

    def published_path(self, warehouse: Path) -> Path:
        return self.published or warehouse.with_name("published.duckdb")

    def spark_home_for(self, warehouse: Path) -> Path:
        return (self.spark_home or warehouse.resolve().parent / "spark").resolve()


# Settings naming a path: a relative one is relative to the deployment folder.
# A deployment folder is one with this file: its settings (tagwise init writes it).
ENV_FILE = "tagwise.env"
PATHS = ("landing", "warehouse", "exports", "published", "spark_home")


@functools.cache
def current() -> Settings:
    """The settings of this process, read on first use from the environment and the
    deployment folder's `tagwise.env`."""
    project = Settings().project
    env_file = project / ENV_FILE
    settings = Settings(_env_file=env_file) if env_file.is_file() else Settings()
    return settings.model_copy(
        update={
            name: project / value
            for name in PATHS
            if (value := getattr(settings, name)) is not None and not value.is_absolute()
        }
    )


def variable(name: str) -> str:
    field = Settings.model_fields[name]
    alias = field.validation_alias
    return alias.choices[0] if isinstance(alias, AliasChoices) else f"{PREFIX}{name.upper()}"


def env_file_text() -> str:
    """A deployment folder's `tagwise.env` as `tagwise init` writes it: every setting,
    commented out at its default."""
    lines = [
        "# tagwise's settings for this deployment folder (the README's Configuration table).",
        "# Uncomment a line to change it; the environment overrides this file.",
        "# Relative paths are relative to this folder.",
    ]
    for name, field in Settings.model_fields.items():
        if name == "project":
            continue
        default = "" if field.default is None else field.default
        lines += ["", f"# {field.description}", f"# {variable(name)}={default}"]
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    """The README's table of settings."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = "" if field.default in (None, "") else f"`{field.default}`"
        rows.append(f"| `{variable(name)}` | {default} | {field.description} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
