"""Where tagwise finds its dbt project, and the deployment folder a team keeps.

The dbt project and its seeds ship inside the package: `tagwise/_bundle/` in an installed
wheel, the checkout's `dbt_project/` and `seeds/` in development. A deployment folder
(`tagwise init DIR`) holds what a team changes and versions in its own repository: the
tag, segment, destination and identity catalogs, the taxonomy and synonyms, and `tagwise.env` (settings).

tagwise runs in a deployment folder when `--project DIR` or TAGWISE_PROJECT names one, or
when the current folder has a `tagwise.env`. dbt then runs a working copy in
`DIR/.tagwise/`: the shipped project, with links to the folder's own catalogs and seeds
in place of the shipped ones. The links keep one copy of each file a team edits, so a
catalog error names the file the team wrote.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from tagwise.errors import TagwiseError
from tagwise.settings import ENV_FILE, current, env_file_text

WORKING_COPY = ".tagwise"
# What dbt writes into the project folder, not what it reads.
GENERATED = frozenset({"target", "logs", "dbt_packages"})
# The files a deployment folder owns (its path there) and where dbt reads each one.
OWNED = {
    "catalogs/tag_catalog.yml": Path("dbt_project/models/intermediate/tags/tag_catalog.yml"),
    "catalogs/segment_catalog.yml": Path(
        "dbt_project/models/intermediate/segments/segment_catalog.yml"
    ),
    "catalogs/destination_catalog.yml": Path(
        "dbt_project/models/restricted/destinations/destination_catalog.yml"
    ),
    "catalogs/identity_catalog.yml": Path(
        "dbt_project/models/restricted/identity/identity_catalog.yml"
    ),
    "seeds/tag_taxonomy.csv": Path("seeds/tag_taxonomy.csv"),
    "seeds/tag_synonyms.csv": Path("seeds/tag_synonyms.csv"),
}
# Owned files a folder made by an earlier release may lack: the shipped one applies there
# (for the identity catalog, tagwise's default rule), until the team writes its own.
OPTIONAL_OWNED = frozenset({"catalogs/identity_catalog.yml"})
# What tagwise writes into a deployment folder, never committed. No trailing `/`: git
# would then ignore only a directory, and commit a link or file of the same name.
IGNORED = (WORKING_COPY, "data", "exports")
GITIGNORE = (
    "# Written by tagwise: the dbt working copy (rebuilt on every command) and the data.\n"
    + "".join(f"/{name}\n" for name in IGNORED)
)


class ProjectError(TagwiseError):
    """A deployment folder cannot be created or used."""


def shipped() -> Path:
    """The folder holding `dbt_project/` and `seeds/` as tagwise ships them."""
    bundle = Path(__file__).resolve().parent / "_bundle"
    return bundle if bundle.is_dir() else bundle.parent.parent


def is_deployment(folder: Path) -> bool:
    return (folder / ENV_FILE).is_file()


def _deployment() -> Path | None:
    folder = current().project
    return folder if is_deployment(folder) else None


def owned(name: str) -> Path:
    """A file a team edits (a key of OWNED): the deployment folder's own, or the shipped one."""
    folder = _deployment()
    if folder and (name not in OPTIONAL_OWNED or (folder / name).is_file()):
        return folder / name
    return shipped() / OWNED[name]


@functools.cache
def root() -> Path:
    """The folder dbt runs from (holding `dbt_project/` and `seeds/`), assembled once per
    process in a deployment folder."""
    folder = _deployment()
    return assemble(folder) if folder else shipped()


def _shipped_files() -> dict[Path, Path]:
    """The shipped project's files by their place in it. dbt's generated folders are not
    entered: in a checkout, runs write and prune them while a deployment folder's project
    is assembled (a walk into them failed on a run folder pruned under it)."""
    files = {}
    for part in ("dbt_project", "seeds"):
        for folder, subfolders, names in os.walk(shipped() / part):
            subfolders[:] = [name for name in subfolders if name not in GENERATED]
            for name in names:
                path = Path(folder) / name
                if name not in GENERATED and path.is_file():
                    files[path.relative_to(shipped())] = path
    return files


def assemble(folder: Path) -> Path:
    """Bring `folder/.tagwise` in step with the shipped project and the folder's own files.

    A shipped file is copied only when its bytes differ, so dbt's manifest is parsed again
    only after a change; files the shipped project no longer has are removed."""
    copy = _working_copy(folder)
    links = {
        where: folder.resolve() / name
        for name, where in OWNED.items()
        if name not in OPTIONAL_OWNED or (folder / name).is_file()
    }
    missing = [
        name for name, where in OWNED.items() if where in links and not links[where].is_file()
    ]
    if missing:
        raise ProjectError(
            f"the deployment folder {folder} lacks {', '.join(missing)}: "
            "`tagwise init` writes them (copy them from a fresh folder)"
        )
    copies = {where: path for where, path in _shipped_files().items() if where not in links}
    for path in reversed(_walk_without_links(copy)):
        relative = path.relative_to(copy)
        if GENERATED & set(relative.parts) or relative in copies or relative in links:
            continue
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        else:
            path.unlink()
    for where, source in copies.items():
        target = copy / where
        content = source.read_bytes()
        if target.is_symlink() or not target.is_file() or target.read_bytes() != content:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            target.write_bytes(content)
    for where, source in links.items():
        target = copy / where
        if not (target.is_symlink() and Path(os.readlink(target)) == source):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            target.symlink_to(source)
    return copy


def _working_copy(folder: Path) -> Path:
    """`folder/.tagwise`, refused unless it is a real directory (or absent): the clean-up
    below deletes what it finds there, and a link would point it at another folder."""
    copy = folder.resolve() / WORKING_COPY
    if copy.is_symlink() or (copy.exists() and not copy.is_dir()):
        raise ProjectError(
            f"{copy} is not a directory of its own (a link or a file); tagwise rebuilds and "
            "cleans that folder on every command, so it refuses to use it: remove it and "
            "run again"
        )
    copy.mkdir(exist_ok=True)
    return copy


def _walk_without_links(top: Path) -> list[Path]:
    """Every path below `top`, parents before children, never entering a linked folder."""
    found = []
    for parent, folders, files in os.walk(top, followlinks=False):
        found += [Path(parent) / name for name in sorted(folders) + sorted(files)]
    return found


def _ignore_what_tagwise_writes(gitignore: Path) -> bool:
    """Add IGNORED to a folder's own .gitignore where it lacks them; whether it changed."""
    lines = gitignore.read_text().splitlines()
    kept = {line.strip().strip("/") for line in lines}
    missing = [name for name in IGNORED if name not in kept]
    if missing:
        ending = "" if not lines or gitignore.read_text().endswith("\n") else "\n"
        with gitignore.open("a") as handle:
            handle.write(ending + "".join(f"/{name}\n" for name in missing))
    return bool(missing)


def init(folder: Path) -> list[Path]:
    """Scaffold a deployment folder; returns the files written. An existing deployment
    folder is refused: `init` never overwrites a team's catalogs."""
    from tagwise.contract import SOURCES

    if is_deployment(folder):
        raise ProjectError(f"{folder} is already a deployment folder ({folder / ENV_FILE} exists)")
    written = []
    for name, where in OWNED.items():
        target = folder / name
        if target.exists():
            raise ProjectError(f"{target} exists; `tagwise init` does not overwrite it")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((shipped() / where).read_bytes())
        written.append(target)
    for source in SOURCES:
        (folder / "data" / "landing" / source.name).mkdir(parents=True, exist_ok=True)
    for name, text in ((".gitignore", GITIGNORE), (ENV_FILE, env_file_text())):
        if not (folder / name).exists():
            (folder / name).write_text(text)
            written.append(folder / name)
    if folder / ".gitignore" not in written and _ignore_what_tagwise_writes(folder / ".gitignore"):
        written.append(folder / ".gitignore")
    return written
