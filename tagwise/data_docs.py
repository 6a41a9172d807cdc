"""Great Expectations Data Docs that open offline.

GX writes pages that load Bootstrap, jQuery, bootstrap-table, Font Awesome and Vega from
CDNs, and its logo from GX's servers (with the data context's id in the address). Offline
(a laptop on a train, a locked-down server) the pages render blank. tagwise ships pinned
copies of those files in `tagwise/data_docs_assets/` (taken from the npm registry by
`fetch_assets`, run by `make data-docs-assets`) and, after each Data Docs build, copies
them into the site and points every page at them.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import tarfile
from pathlib import Path

ASSETS_DIR = Path(__file__).parent / "data_docs_assets"
SITE_FOLDER = "static/vendor"  # where the copies go inside the Data Docs site

# The address GX writes -> (npm package, version, file in the package).
# bootstrap-table-filter-control's stylesheet is requested from 1.19.0 by GX, in both
# forms; the minified file serves both.
ASSETS: dict[str, tuple[str, str, str]] = {
    "https://code.jquery.com/jquery-3.7.1.min.js": ("jquery", "3.7.1", "dist/jquery.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": (
        "popper.js", "1.12.9", "dist/umd/popper.min.js"),
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (
        "bootstrap", "4.3.1", "dist/css/bootstrap.min.css"),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (
        "bootstrap", "4.3.1", "dist/js/bootstrap.min.js"),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "@forevolve/bootstrap-dark", "1.1.0", "dist/css/bootstrap-prefers-dark.min.css"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table", "1.19.1", "dist/bootstrap-table.min.css"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table", "1.19.1", "dist/bootstrap-table.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table", "1.19.1", "dist/extensions/filter-control/bootstrap-table-filter-control.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table", "1.19.0", "dist/extensions/filter-control/bootstrap-table-filter-control.min.css"),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table", "1.19.0", "dist/extensions/filter-control/bootstrap-table-filter-control.min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker", "1.9.0", "dist/css/bootstrap-datepicker.min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker", "1.9.0", "dist/js/bootstrap-datepicker.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "@fortawesome/fontawesome-free", "6.6.0", "css/all.min.css"),
    "https://cdn.jsdelivr.net/npm/vega@5": ("vega", "5.33.1", "build/vega.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-lite@5": ("vega-lite", "5.23.0", "build/vega-lite.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-embed@6": ("vega-embed", "6.29.0", "build/vega-embed.min.js"),
}  # fmt: skip
# Files a stylesheet above loads by a relative address (Font Awesome's fonts).
COMPANIONS: tuple[tuple[str, str, str], ...] = tuple(
    ("@fortawesome/fontawesome-free", "6.6.0", f"webfonts/{font}.woff2")
    for font in ("fa-solid-900", "fa-regular-400", "fa-brands-400", "fa-v4compatibility")
)
# <script src> and <link href> with a remote address.
REMOTE_RESOURCE = re.compile(r'(<(?:script|link)\b[^>]*?\b(?:src|href)=")(https?://[^"]+)(")')
LICENCE = re.compile(r"package/licen[cs]e(\.\w+)?", re.IGNORECASE)
# GX's logos (an <img>, and a dark-mode CSS background), fetched from GX's servers.
GX_LOGO = re.compile(r"https://great-expectations-web-assets\.[^\"')\s]*")


def asset_path(package: str, version: str, file: str) -> str:
    """Where a file of a package is kept, relative to ASSETS_DIR and to SITE_FOLDER."""
    return f"{package.split('/')[-1]}@{version}/{file}"


def fetch_assets(destination: Path = ASSETS_DIR) -> list[Path]:
    """Download every asset from the npm registry, checking each tarball against the
    registry's published SHA-512 (a maintainer's step: the files, and each package's licence, are in the repository)."""
    import base64

    import requests

    written = []
    wanted: dict[tuple[str, str], set[str]] = {}
    for package, version, file in (*ASSETS.values(), *COMPANIONS):
        wanted.setdefault((package, version), set()).add(file)
    for (package, version), files in sorted(wanted.items()):
        meta = requests.get(f"https://registry.npmjs.org/{package}/{version}", timeout=60)
        meta.raise_for_status()
        dist = meta.json()["dist"]
        tarball = requests.get(dist["tarball"], timeout=120)
        tarball.raise_for_status()
        algorithm, expected = dist["integrity"].split("-", 1)
        if base64.b64encode(hashlib.new(algorithm, tarball.content).digest()).decode() != expected:
            raise RuntimeError(f"{package}@{version}: the tarball does not match its integrity")
        with tarfile.open(fileobj=io.BytesIO(tarball.content)) as archive:
            for file in sorted(files):
                target = destination / asset_path(package, version, file)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.extractfile(f"package/{file}").read())
                written.append(target)
            # Their licences require the notice to travel with the copies.
            notice = next((n for n in archive.getnames() if LICENCE.fullmatch(n)), None)
            target = destination / asset_path(package, version, "LICENSE")
            target.write_bytes(
                archive.extractfile(notice).read()
                if notice
                else f"{package}@{version} is distributed under the {meta.json()['license']} "
                "licence (its package.json; the package ships no licence file).\n".encode()
            )
            written.append(target)
    return written


def make_offline(site: Path) -> list[str]:
    """Copy the assets into the Data Docs site and point its pages at them; returns the
    remote scripts and stylesheets left (none, unless a GX upgrade added one)."""
    vendor = site / SITE_FOLDER
    for package, version, file in (*ASSETS.values(), *COMPANIONS):
        relative = asset_path(package, version, file)
        target = vendor / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ASSETS_DIR / relative, target)
    left: set[str] = set()
    for page in site.rglob("*.html"):
        to_root = "../" * (len(page.relative_to(site).parts) - 1)

        def local(match: re.Match, to_root: str = to_root) -> str:
            url = match.group(2)
            if url not in ASSETS:
                left.add(url)
                return match.group(0)
            return (
                f"{match.group(1)}{to_root}{SITE_FOLDER}/{asset_path(*ASSETS[url])}{match.group(3)}"
            )

        text = page.read_text(encoding="utf-8")
        offline = GX_LOGO.sub(f"{to_root}static/images/logo-long.png", text)
        offline = REMOTE_RESOURCE.sub(local, offline)
        if offline != text:
            page.write_text(offline, encoding="utf-8")
    return sorted(left)
