"""`tagwise diff` written out: Markdown for a pull-request comment, JSON, and an HTML page
with plotly charts (members before and after, the audience overlap matrix)."""

from __future__ import annotations

import html
import json
import math
import re

from tagwise.diff import Diff


def _change(item: dict) -> str:
    delta = item["after"] - item["before"]
    return f"{delta:+,}"


def _turnover(item: dict) -> str:
    value = item["turnover"]
    if value is None:
        return "-"
    return "new" if math.isinf(value) else f"{value:.0%}"


def _changed(items: list[dict]) -> list[dict]:
    return [i for i in items if i["entering"] or i["leaving"]]


def _sample(people: list[dict]) -> str:
    return "; ".join(f"`{p['customer_key'][:10]}` {p['reason'] or ''}".strip() for p in people)


# What Markdown would read as markup in a reason quoting customer data (a job title, a
# category): links, images, emphasis, code, headings, table cells. Escaped with `\`; `<`
# and `&` as entities, so no raw HTML reaches a pull-request comment.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]()!#|~])")


def _markdown_cell(text: str) -> str:
    escaped = html.escape(text, quote=False)
    return MARKDOWN_SPECIAL.sub(r"\\\1", escaped).replace("\n", " ").replace("\r", " ")


def identity_summary(identity: dict) -> str:
    """One sentence on what the identity catalog change does to who is who."""
    if not identity.get("rebuilt"):
        return "The identity catalog is unchanged: every record belongs to the customer it did."
    return (
        f"The identity catalog changed: {identity['customers_before']:,} customers before, "
        f"{identity['customers_after']:,} after; {identity['merges']:,} merged "
        f"({identity['merged_records']:,} records), {identity['splits']:,} split "
        f"({identity['split_records']:,} records). Note: {identity['note']}."
    )


def _identity_markdown(identity: dict) -> list[str]:
    lines = ["### Identity", "", identity_summary(identity), ""]
    if not identity.get("rebuilt"):
        return lines
    for label, key in (("merged", "merge_sample"), ("split", "split_sample")):
        if identity[key]:
            lines.append(f"- {label}:")
            lines += [
                f"  - `{p['customer_key'][:10]}` {_markdown_cell(p['reason'])}"
                for p in identity[key]
            ]
    lines += [
        "",
        "| consent | granted before | granted after | records no longer granted | records newly granted |",
        "|---|--:|--:|--:|--:|",
    ]
    lines += [
        f"| {c['channel']} {c['purpose']} | {c['granted_before']:,} | {c['granted_after']:,} | "
        f"{c['records_no_longer_granted']:,} | {c['records_newly_granted']:,} |"
        for c in identity["consent"]
    ]
    return [*lines, ""]


def markdown(result: Diff) -> str:
    lines = [f"## tagwise diff as of {result.as_of}", "", f"Base: {result.base}.", ""]
    if result.crossed:
        lines += [
            "**Over the thresholds:** " + ", ".join(result.crossed),
            "",
        ]
    if result.identity:
        lines += _identity_markdown(result.identity)
    for title, items in (("Segments and audiences", result.segments), ("Tags", result.tags)):
        changed = _changed(items)
        lines += [f"### {title}", ""]
        if not changed:
            lines += ["No member enters or leaves.", ""]
            continue
        lines += [
            "| name | before | after | change | entering | leaving | turnover |",
            "|---|--:|--:|--:|--:|--:|--:|",
        ]
        lines += [
            f"| {i['name']} | {i['before']:,} | {i['after']:,} | {_change(i)} | {i['entering']:,} | "
            f"{i['leaving']:,} | {_turnover(i)} |"
            for i in changed
        ]
        lines.append("")
        for i in changed:
            lines.append(f"<details><summary>{i['name']}: who enters and who leaves</summary>")
            lines.append("")
            for label, people in (
                ("entering", i["entering_sample"]),
                ("leaving", i["leaving_sample"]),
            ):
                if people:
                    lines.append(f"- {label}:")
                    lines += [
                        f"  - `{p['customer_key'][:10]}` {_markdown_cell(p['reason'] or '')}"
                        for p in people
                    ]
            lines += ["", "</details>", ""]
    lines += [
        "### Destinations",
        "",
        "| destination | before | after | entering | leaving | next sync before (add/update/remove) | next sync after |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for d in result.destinations:
        b, a = d["next_sync_before"], d["next_sync_after"]
        lines.append(
            f"| {d['name']} | {d['before']:,} | {d['after']:,} | {d['entering']:,} | {d['leaving']:,} | "
            f"{b['add']:,} / {b['update']:,} / {b['remove']:,} | {a['add']:,} / {a['update']:,} / {a['remove']:,} |"
        )
    overlaps = [o for o in result.overlap if o["shared"]][:10]
    if overlaps:
        lines += [
            "",
            "### Largest audience overlaps",
            "",
            "| audiences | shared | Jaccard | before |",
            "|---|--:|--:|--:|",
        ]
        lines += [
            f"| {o['audience_a']} & {o['audience_b']} | {o['shared']:,} | {o['jaccard']:.3f} | "
            + ("-" if o["jaccard_before"] is None else f"{o['jaccard_before']:.3f}")
            + " |"
            for o in overlaps
        ]
    if result.lookalikes:
        lines += [
            "",
            "### Lookalike audiences",
            "",
            "| lookalike | seed | members | held out | recall | random | lift | lift before |",
            "|---|---|--:|--:|--:|--:|--:|--:|",
        ]
        lines += [
            f"| {q['lookalike']} | {q['seed']} | {q['audience_size']:,} | {q['held_out_size']:,} | "
            + " | ".join(
                "-" if q[k] is None else f"{q[k]:.2f}"
                for k in ("recall", "random_recall", "lift", "lift_before")
            )
            + " |"
            for q in result.lookalikes
        ]
    return "\n".join(lines) + "\n"


def as_json(result: Diff) -> str:
    data = result.as_dict()
    # JSON has no infinity: a name that had no members before turns over "new". Copies:
    # the items are the result's own, which the HTML page and the thresholds read after.
    for part in ("tags", "segments", "destinations"):
        data[part] = [
            {**item, "turnover": "new"}
            if item["turnover"] is not None and math.isinf(item["turnover"])
            else item
            for item in data[part]
        ]
    return json.dumps(data, indent=2) + "\n"


def _members_figure(result: Diff):
    import plotly.graph_objects as go

    changed = _changed(result.segments) or result.segments
    names = [i["name"] for i in changed]
    figure = go.Figure(
        [
            go.Bar(
                name="before",
                y=names,
                x=[i["before"] for i in changed],
                orientation="h",
                marker_color="#9aa5b1",
            ),
            go.Bar(
                name="after",
                y=names,
                x=[i["after"] for i in changed],
                orientation="h",
                marker_color="#2f6fde",
            ),
        ]
    )
    figure.update_layout(
        barmode="group",
        template="plotly_white",
        height=max(320, 42 * len(names) + 120),
        margin={"l": 200, "r": 30, "t": 40, "b": 40},
        title="Members before and after",
        yaxis={"autorange": "reversed"},
    )
    return figure


def _overlap_figure(result: Diff):
    import plotly.graph_objects as go

    audiences = sorted(
        {o["audience_a"] for o in result.overlap} | {o["audience_b"] for o in result.overlap}
    )
    index = {name: position for position, name in enumerate(audiences)}
    matrix = [[None] * len(audiences) for _ in audiences]
    for o in result.overlap:
        a, b = index[o["audience_a"]], index[o["audience_b"]]
        matrix[a][b] = matrix[b][a] = o["jaccard"]
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=audiences,
            y=audiences,
            colorscale="Blues",
            zmin=0,
            zmax=max([o["jaccard"] for o in result.overlap] or [1]),
            colorbar={"title": "Jaccard"},
        )
    )
    figure.update_layout(
        template="plotly_white",
        height=max(420, 26 * len(audiences) + 200),
        margin={"l": 200, "r": 30, "t": 40, "b": 160},
        title="Audience overlap (Jaccard index)",
    )
    return figure


def _people(people: list[dict]) -> str:
    if not people:
        return ""
    items = "".join(
        f"<li><code>{html.escape(p['customer_key'][:10])}</code> {html.escape(p['reason'] or '')}</li>"
        for p in people
    )
    return f"<ul>{items}</ul>"


def _signed(count: int, sign: str) -> str:
    return f"{sign}{count:,}" if count else "0"


def _table(items: list[dict]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(i['name'])}</td><td>{i['before']:,}</td><td>{i['after']:,}</td>"
        f"<td class='in'>{_signed(i['entering'], '+')}</td><td class='out'>{_signed(i['leaving'], '-')}</td>"
        f"<td>{_turnover(i)}</td><td>{_people(i['entering_sample'])}</td><td>{_people(i['leaving_sample'])}</td></tr>"
        for i in items
    )
    return (
        "<table><thead><tr><th>name</th><th>before</th><th>after</th><th>entering</th><th>leaving</th>"
        f"<th>turnover</th><th>who enters, why</th><th>who leaves, why</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _identity_html(identity: dict) -> str:
    parts = [f"<p>{html.escape(identity_summary(identity))}</p>"]
    if identity.get("rebuilt"):
        for label, key in (("Merged", "merge_sample"), ("Split", "split_sample")):
            if identity[key]:
                people = "".join(
                    f"<li><code>{html.escape(p['customer_key'][:10])}</code> {html.escape(p['reason'])}</li>"
                    for p in identity[key]
                )
                parts.append(f"<h3>{label}</h3><ul>{people}</ul>")
        rows = "".join(
            f"<tr><td>{html.escape(c['channel'])} {html.escape(c['purpose'])}</td>"
            f"<td>{c['granted_before']:,}</td><td>{c['granted_after']:,}</td>"
            f"<td class='out'>{c['records_no_longer_granted']:,}</td>"
            f"<td class='in'>{c['records_newly_granted']:,}</td></tr>"
            for c in identity["consent"]
        )
        parts.append(
            "<table><thead><tr><th>consent</th><th>granted before</th><th>granted after</th>"
            "<th>records no longer granted</th><th>records newly granted</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    return f'<section id="identity"><h2>Identity</h2>{"".join(parts)}</section>'


def html_page(result: Diff) -> str:
    members = _members_figure(result).to_html(
        full_html=False, include_plotlyjs=True, div_id="members-chart"
    )
    overlap = (
        _overlap_figure(result).to_html(
            full_html=False, include_plotlyjs=False, div_id="overlap-chart"
        )
        if result.overlap
        else "<p>No audiences.</p>"
    )
    crossed = (
        "<p class='crossed'>Over the thresholds: " + html.escape(", ".join(result.crossed)) + "</p>"
        if result.crossed
        else ""
    )
    destinations = "".join(
        f"<tr><td>{html.escape(d['name'])}</td><td>{d['before']:,}</td><td>{d['after']:,}</td>"
        f"<td class='in'>{_signed(d['entering'], '+')}</td><td class='out'>{_signed(d['leaving'], '-')}</td>"
        f"<td>{d['next_sync_after']['add']:,} / {d['next_sync_after']['update']:,} / {d['next_sync_after']['remove']:,}</td></tr>"
        for d in result.destinations
    )
    identity = _identity_html(result.identity) if result.identity else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tagwise diff as of {result.as_of}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #1f2933; }}
h1 {{ font-size: 1.6rem; }} h2 {{ margin-top: 2.2rem; border-bottom: 1px solid #e4e7eb; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.9rem; }}
th, td {{ text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid #e4e7eb; vertical-align: top; }}
ul {{ margin: 0; padding-left: 1rem; }} code {{ background: #f5f7fa; }}
.in {{ color: #1f7a3f; }} .out {{ color: #b42318; }} .crossed {{ background: #fef3f2; padding: 0.6rem; }}
</style></head><body>
<h1>tagwise diff as of {result.as_of}</h1>
<p>Base: {html.escape(result.base)}. People are named by the first characters of their customer_key.</p>
{crossed}
{identity}
<section id="segments"><h2>Segments and audiences</h2>{members}{_table(_changed(result.segments))}</section>
<section id="tags"><h2>Tags</h2>{_table(_changed(result.tags))}</section>
<section id="destinations"><h2>Destinations</h2>
<table><thead><tr><th>destination</th><th>before</th><th>after</th><th>entering</th><th>leaving</th>
<th>next sync (add / update / remove)</th></tr></thead><tbody>{destinations}</tbody></table></section>
<section id="overlap"><h2>Audience overlap</h2>{overlap}</section>
</body></html>
"""
