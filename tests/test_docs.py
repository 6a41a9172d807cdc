"""The documents a clone ships: the README's links resolve, and the contract is the
shared one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The team's shared contract, beside the repository where it is checked out with it.
SHARED_SPEC = ROOT.parent / "shared" / "SPEC.md"


def test_every_relative_link_in_the_readme_resolves_in_the_clone():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    assert "docs/SPEC.md" in local
    missing = [t for t in local if not (ROOT / t).resolve().is_relative_to(ROOT)
               or not (ROOT / t).exists()]  # fmt: skip
    assert not missing


@pytest.mark.skipif(not SHARED_SPEC.exists(), reason="no shared folder beside this clone")
def test_the_shipped_spec_is_the_shared_one():
    assert (ROOT / "docs" / "SPEC.md").read_bytes() == SHARED_SPEC.read_bytes()


def test_the_readme_lists_every_setting_as_tagwise_settings_defines_it():
    from tagwise.settings import markdown_table

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "run `python -m tagwise.settings` and paste it"
