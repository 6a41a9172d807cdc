"""A suggestion run as a person reviews it: catalog snippets to paste and a page."""

from __future__ import annotations

import json
from datetime import date

from tagwise.suggest.suggestion import Suggestion

# The priority a suggested tag's taxonomy row proposes: after the shipped behaviour tags.
NEW_TAG_PRIORITY = 100


def review_snippets(suggestions: list[Suggestion], as_of: date) -> str:
    """A review file: each suggestion as the catalog edit that accepts it, commented."""
    lines = [
        f"# tagwise suggest, from the build as of {as_of}. Nothing here is applied: paste",
        "# what you accept into catalogs/tag_catalog.yml (and a new tag's row into",
        "# seeds/tag_taxonomy.csv), then `tagwise check` and `tagwise diff`.",
        "",
    ]
    for s in suggestions:
        lines.append(f"# {s.kind} {s.tag}: {s.reason}; {s.members} customers ({s.support:.1%})")
        if s.kind == "new":
            # Behaviour read into a person is profiling: the row asks for its consent.
            description = s.reason.replace('"', "'")
            lines += [
                f'#   seeds/tag_taxonomy.csv: {s.tag},behavior,"{description}",marketing,'
                f"active,,,{NEW_TAG_PRIORITY},true",
                f"- tag: {s.tag}",
                f"  when: {json.dumps(s.condition)}",
                f"  evidence: {json.dumps(s.evidence)}",
            ]
        elif s.kind == "merge":
            lines.append(
                f"#   keep {s.with_tag}; make {s.tag} its synonym in seeds/tag_synonyms.csv"
            )
        else:
            lines.append(f"#   remove the rule of {s.tag}; deprecate it in seeds/tag_taxonomy.csv")
        lines.append("")
    return "\n".join(lines)


def _previous(s: Suggestion) -> str:
    import html

    if not s.previous:
        return ""
    if "members" not in s.previous:
        return f"<p class='previous'>not proposed as of {s.previous['as_of']}</p>"
    condition = s.previous.get("condition")
    return (
        f"<p class='previous'>proposed as of {s.previous['as_of']} too: "
        f"{s.previous['members']:,} customers"
        + (f", <code>{html.escape(condition)}</code>" if condition else "")
        + "</p>"
    )


KIND_COLOURS = {"new": "#2f6fde", "merge": "#c47f17", "retire": "#8a94a6"}


def html_page(suggestions: list[Suggestion], as_of: date, customers: int) -> str:
    """The suggestions as a page a person would rather look at than read: bars of lift and
    of support per suggestion, then a card each with its condition, the existing tags it
    overlaps and a sample of members; plotly inlined, so the page opens offline."""
    import html

    import plotly.graph_objects as go

    named = [s for s in suggestions if s.kind == "new" or s.lift is not None]
    lift = go.Figure(
        go.Bar(
            x=[s.lift for s in named],
            y=[s.tag for s in named],
            orientation="h",
            marker_color=[KIND_COLOURS[s.kind] for s in named],
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [0] * len(named),
                "arrayminus": [s.lift - s.lift_lower for s in named],
            },
            name="lift",
        )
    )
    lift.update_layout(
        title="How far each proposed tag's behaviour is above everyone's (bar: lift; "
        "whisker: down to its 5th-percentile bound)",
        xaxis_title="members' mean / everyone's mean",
        template="plotly_white",
        height=140 + 40 * len(named),
        margin={"l": 220},
        yaxis={"autorange": "reversed"},
    )
    support = go.Figure(
        go.Bar(
            x=[s.support for s in suggestions],
            y=[f"{s.kind} {s.tag}" for s in suggestions],
            orientation="h",
            marker_color=[KIND_COLOURS[s.kind] for s in suggestions],
        )
    )
    support.update_layout(
        title="Share of customers each suggestion concerns",
        xaxis={"tickformat": ".0%"},
        template="plotly_white",
        height=140 + 40 * len(suggestions),
        margin={"l": 260},
        yaxis={"autorange": "reversed"},
    )
    cards = []
    for s in suggestions:
        overlap = ", ".join(f"{html.escape(o['tag'])} ({o['jaccard']:.2f})" for o in s.overlap)
        sample = "".join(
            "<li>"
            + ", ".join(f"{html.escape(str(k))}: {html.escape(str(v))}" for k, v in row.items())
            + "</li>"
            for row in s.sample
        )
        cards.append(
            f"<section class='card {s.kind}'><h3>{s.kind}: {html.escape(s.tag)}</h3>"
            f"<p>{html.escape(s.reason)}</p>"
            + (f"<p><code>{html.escape(s.condition)}</code></p>" if s.condition else "")
            + f"<p>{s.members:,} customers ({s.support:.1%})"
            + (f"; stability {s.stability:.0%}" if s.stability is not None else "")
            + "</p>"
            + (f"<p>overlaps {overlap}</p>" if overlap else "<p>overlaps no tag</p>")
            + _previous(s)
            + (f"<ul>{sample}</ul>" if sample else "")
            + "</section>"
        )
    charts = (
        lift.to_html(full_html=False, include_plotlyjs=True, div_id="lift-chart")
        if named
        else "<p>No new tag is proposed.</p>"
    )
    charts += support.to_html(full_html=False, include_plotlyjs=not named, div_id="support-chart")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tagwise suggest as of {as_of}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1f2933; }}
h2 {{ margin-top: 2rem; border-bottom: 1px solid #e4e7eb; }}
.card {{ border-left: 4px solid #8a94a6; padding: 0.2rem 1rem; margin: 1rem 0; background: #f8f9fb; }}
.card.new {{ border-color: #2f6fde; }} .card.merge {{ border-color: #c47f17; }}
code {{ background: #eef1f5; padding: 0.1rem 0.3rem; }}
</style></head><body>
<h1>tagwise suggest as of {as_of}</h1>
<p>{len(suggestions)} suggestions from {customers:,} customers who allow profiling. Nothing is
applied: paste what you accept from the review file into the tag catalog, then run
<code>tagwise check</code> and <code>tagwise diff</code>.</p>
<section id="charts"><h2>At a glance</h2>{charts}</section>
<section id="suggestions"><h2>Each suggestion</h2>{"".join(cards)}</section>
</body></html>
"""
