"""What changed since the last campaign: the leads new to it and those that left it, each
with the reason a sales team acts on.

A person is the same person across titles (first and last name at the same company): a
contact whose title changed is one contact with a new title, not a new lead and a lost one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import pandas as pd

from pipeline.leads.records import identity_text

CHANGE_COLUMN = "change_reason"
NEW_LEAD = "new lead"
FIRST_CAMPAIGN = "first campaign"


@dataclass(frozen=True)
class CampaignChanges:
    """Campaign rows new since the last campaign, and the last campaign's rows that left it,
    each with `change_reason`."""

    new: pd.DataFrame
    dropped: pd.DataFrame
    since: datetime | None


def person_keys(rows: pd.DataFrame) -> pd.Series:
    return (
        rows["lead_first_name"].map(identity_text)
        + "\x1f"
        + rows["lead_last_name"].map(identity_text)
        + "\x1f"
        + rows["company_key"]
    )


def campaign_changes(
    previous: pd.DataFrame, since: datetime | None, current: pd.DataFrame, ranked: pd.DataFrame
) -> CampaignChanges:
    """`previous`: the last campaign's rows (none before the first); `current`: this run's;
    `ranked`: this run's ranked leads (rank, suppression, `first_seen_at`)."""
    columns = [*current.columns, CHANGE_COLUMN]
    if since is None:
        new = current.assign(**{CHANGE_COLUMN: FIRST_CAMPAIGN})
        return CampaignChanges(new[columns], pd.DataFrame(columns=columns), None)
    now = _Now(ranked)
    before = previous.assign(person=person_keys(previous), full_name=_names(previous))
    after = current.assign(person=person_keys(current), full_name=_names(current))
    left = before[~before["person"].isin(set(after["person"]))]
    joined = after[~after["lead_id"].isin(set(before["lead_id"]))]
    why_left = [now.why_left(row) for row in left.itertuples()]
    # What freed a place at each company: the leads that left for a reason of their own.
    freed: dict[str, list[str]] = {}
    for row, why in zip(left.itertuples(), why_left, strict=True):
        if why:
            freed.setdefault(row.company_key, []).append(f"{row.full_name} {why}")
    was = dict(zip(before["person"], before["lead_job_title"], strict=True))
    why_joined = []
    for row in joined.itertuples():
        if row.person in was:
            why_joined.append(f"title changed (was: {was[row.person]})")
        elif _first_seen_after(now.first_seen.get(row.lead_id), since):
            why_joined.append(NEW_LEAD)
        elif row.company_key in freed:
            why_joined.append(f"moved up: {'; '.join(freed[row.company_key])}")
        else:
            why_joined.append("ranked higher")
    arrived: dict[str, list[str]] = {}
    for row, why in zip(joined.itertuples(), why_joined, strict=True):
        if why == NEW_LEAD:
            arrived.setdefault(row.company_key, []).append(row.full_name)
    why_left = [
        why
        or (
            f"a better lead arrived: {', '.join(arrived[row.company_key])}"
            if row.company_key in arrived
            else now.rank_now(row.lead_id)
        )
        for row, why in zip(left.itertuples(), why_left, strict=True)
    ]
    return CampaignChanges(
        joined.assign(**{CHANGE_COLUMN: why_joined})[columns].reset_index(drop=True),
        left.assign(**{CHANGE_COLUMN: why_left})[columns].reset_index(drop=True),
        since,
    )


class _Now:
    """This run's ranked leads, looked up by person and by lead."""

    def __init__(self, ranked: pd.DataFrame) -> None:
        self.ranked = ranked
        by_lead = ranked.set_index("lead_id")
        self.first_seen = by_lead["first_seen_at"]
        self.ranks = by_lead["company_rank"]

    @cached_property
    def people(self) -> pd.DataFrame:
        """By person: keyed only when a lead left the campaign, which most nights none does."""
        keyed = self.ranked.assign(person=person_keys(self.ranked))
        return keyed.drop_duplicates("person").set_index("person")

    def why_left(self, row: Any) -> str:
        """Why a lead left the campaign when the file says so ('' when only its rank can)."""
        person = row.person
        if person not in self.people.index:
            return "gone from the file"
        current = self.people.loc[person]
        if current["lead_id"] != row.lead_id:
            return f"title changed (now: {current['lead_job_title']})"
        if current["suppressed_reason"]:
            return f"suppressed: {current['suppressed_reason']}"
        return ""

    def rank_now(self, lead_id: str) -> str:
        rank = self.ranks.get(lead_id)
        if rank is None or pd.isna(rank):
            return "no longer ranked"
        return f"ranked lower (now {int(rank)})"


def _first_seen_after(first_seen: object, since: datetime) -> bool:
    if first_seen is None or pd.isna(first_seen):
        return True
    return _utc(first_seen) > _utc(since)


def _utc(moment: object) -> pd.Timestamp:
    """Stores give back naive UTC times or aware ones: both compared in UTC."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _names(rows: pd.DataFrame) -> pd.Series:
    return (rows["lead_first_name"] + " " + rows["lead_last_name"]).str.strip()
