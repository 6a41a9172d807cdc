"""Suggestions to clean up the tags there are: merges of tags held by (nearly) the same
people, retirements of rule tags that match no one, nearly everyone, or no longer differ
from everyone on what they name."""

from __future__ import annotations

import pandas as pd

from tagwise.catalog.conditions import condition_columns
from tagwise.suggest.suggestion import (
    MERGE_JACCARD,
    MERGE_MEMBERS,
    NEARLY_EVERYONE,
    NO_LONGER_DIFFERS,
    Inputs,
    Suggestion,
    jaccard,
    lift_of,
    overlaps,
)


def merge_reason(keep: str, index: float, by_rule: bool = False) -> str:
    whom = "the same people, matched by the same rule," if by_rule else "the same people"
    return f"{whom} as {keep} (Jaccard {index:.2f}): keep one name"


def merges(
    members: dict[str, set], population: int, by_rule: dict[str, set] | None = None
) -> list[Suggestion]:
    """Pairs of tags held by (nearly) the same people; the smaller is merged into the larger
    (the name with more holders stays). Two rule tags are compared on whom their rules
    match (by_rule): manual tags a team added to one of them do not make a second name for
    the same condition a different tag."""
    by_rule = by_rule or {}
    found = []
    names = sorted(tag for tag, held in members.items() if len(held) >= MERGE_MEMBERS)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            ruled = bool(by_rule.get(first) and by_rule.get(second))
            if ruled:
                index = jaccard(by_rule[first], by_rule[second])
            else:
                index = jaccard(members[first], members[second])
            if index < MERGE_JACCARD:
                continue
            keep, drop = sorted((first, second), key=lambda t: (-len(members[t]), t))
            found.append(
                Suggestion(
                    kind="merge",
                    tag=drop,
                    condition=None,
                    members=len(members[drop]),
                    support=round(len(members[drop]) / population, 4),
                    lift=None,
                    lift_lower=None,
                    stability=None,
                    reason=merge_reason(keep, index, ruled),
                    overlap=[{"tag": keep, "jaccard": round(index, 4)}],
                    with_tag=keep,
                )
            )
    return found


def retirements(inputs: Inputs, members: dict[str, set]) -> list[Suggestion]:
    """Rule tags that match no one or nearly everyone, or whose members no longer differ
    from the population on any numeric column their condition names."""
    population = len(inputs.customers)
    keys = inputs.customers["customer_key"]
    found = []
    for tag, condition in sorted(inputs.rules.items()):
        holders = members.get(tag, set())
        share = len(holders) / population
        reason = None
        if not holders:
            reason = "matches no one"
        elif share >= NEARLY_EVERYONE:
            reason = f"matches {share:.0%} of customers: it tells no one apart"
        else:
            member = keys.isin(holders)
            numeric = [
                column
                for column in condition_columns(condition)
                if column in inputs.customers
                and pd.api.types.is_numeric_dtype(inputs.customers[column])
            ]
            lifts = {c: lift for c in numeric if (lift := lift_of(inputs.customers, member, c))}
            if lifts and all(
                1 / NO_LONGER_DIFFERS <= lift <= NO_LONGER_DIFFERS for lift in lifts.values()
            ):
                named = ", ".join(f"{c} {lift:.2f}x" for c, lift in lifts.items())
                reason = f"its members no longer differ from everyone on what it names ({named})"
        if reason:
            found.append(
                Suggestion(
                    kind="retire",
                    tag=tag,
                    condition=condition,
                    members=len(holders),
                    support=round(share, 4),
                    lift=None,
                    lift_lower=None,
                    stability=None,
                    reason=reason,
                    overlap=overlaps(holders, members, but=tag),
                )
            )
    return found
