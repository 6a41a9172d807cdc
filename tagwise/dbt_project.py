"""Where the dbt project is, and the vars its dbt_project.yml declares for Python and SQL
alike. Read without running dbt, so the catalogs' checks and the destination kinds can
use it without importing tagwise.dbt (which checks the catalogs before dbt runs)."""

from __future__ import annotations

from tagwise import project

# The shipped project, or a deployment folder's working copy of it (tagwise.project).
PROJECT_DIR = project.root() / "dbt_project"
SEEDS_DIR = project.root() / "seeds"


def project_var(name: str) -> str:
    """A var of dbt_project.yml as written there: values Python checks and dbt's SQL use
    (the email pattern) live in that one place."""
    import yaml

    return yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"][name]
