"""The persona's ladder, applied per company: who is ranked, in which order, with what score.

Every evaluator judges leads one by one (a score at or above the threshold means "worth
contacting on their rung"); this pass then looks at each company as a whole. A company's
plausible leads are taken rung by rung, best first: a rung limited to some sizes is reached
elsewhere only when nobody at the company stands on a better rung, and at most
`max_ranked_per_company` leads are ranked. A ranked lead's score is its fit mapped into its
rung's score range, so scores order the whole company and say the rung.
"""

from __future__ import annotations

import pandas as pd

from pipeline.persona.spec import Persona
from pipeline.ranking.ranked_table import TIE_BREAK_COLUMNS, positions_in_rank_order
from pipeline.ranking.rules import effective_band

# The fit (0-100) of each lead on its rung, as the evaluator judged it: read, then dropped.
RUNG_FIT = "rung_fit"
# The lead columns the ranking's tie-breaks read, beside the evaluation's own.
_ORDER_COLUMNS = ("title_roles_held", "title_qualifiers", "lead_last_name", "lead_first_name")


def climb_ladder(leads: pd.DataFrame, evaluations: pd.DataFrame, persona: Persona) -> pd.DataFrame:
    """The evaluations (one row per lead, aligned with `leads`) with the company pass applied.

    A plausible lead the rules put on no rung (a title only the model understood) stands on
    the lowest rung.
    """
    rungs = persona.ladder
    frame = evaluations.reset_index(drop=True)  # copy-on-write: changes stay in this frame
    plausible = frame["is_relevant"].astype(bool)
    lowest = rungs[-1].name
    frame.loc[plausible & (frame["ladder_rung"] == ""), "ladder_rung"] = lowest
    step = frame["ladder_rung"].map({rung.name: index for index, rung in enumerate(rungs)})
    step = step.where(plausible)
    company = frame["company_key"]
    # Over plausible leads only (the others have no step): most of a large base is not.
    best_step = step[plausible].groupby(company[plausible]).transform("min").reindex(frame.index)
    sizes = leads["size_band"].reset_index(drop=True)
    bands = sizes.map({band: effective_band(band, persona) for band in sizes.unique()})
    reached_at_size = pd.Series(False, index=frame.index)
    for index, rung in enumerate(rungs):
        reached_at_size |= (step == index) & bands.isin(rung.bands)
    reached = plausible & (reached_at_size | (step == best_step))

    low = step.map({index: rung.low_score for index, rung in enumerate(rungs)})
    high = step.map({index: rung.high_score for index, rung in enumerate(rungs)})
    fit = frame.pop(RUNG_FIT).astype("float64")
    # The primary targets' own scores already fall within their rung, in the persona's order.
    climbed = (low + (high - low) * fit / 100).where(step > 0, fit.clip(low, high)).round()

    # The columns a company's order reads (the rest of the evaluations are not copied).
    own = [column for column in TIE_BREAK_COLUMNS if column not in _ORDER_COLUMNS]
    candidates = frame.loc[reached, ["company_key", *own]].assign(
        relevance_score=climbed[reached].astype("int64")
    )
    for column in _ORDER_COLUMNS:
        candidates[column] = leads[column].reset_index(drop=True)[reached].to_numpy()
    position = positions_in_rank_order(candidates)
    admitted = pd.Series(False, index=frame.index)
    admitted[candidates.index[position <= persona.max_ranked_per_company]] = True

    below = persona.relevance_threshold - 1
    out = frame
    out["relevance_score"] = out["relevance_score"].astype("int64")
    out.loc[admitted, "relevance_score"] = climbed[admitted].astype("int64")
    cut = plausible & ~admitted
    out.loc[cut, "relevance_score"] = out.loc[cut, "relevance_score"].clip(upper=below)
    out["is_relevant"] = admitted.astype("bool")
    out["reasoning"] = _with_ladder_notes(
        out["reasoning"], step, best_step, admitted, reached, plausible, persona
    )
    return out


def _with_ladder_notes(
    reasoning: pd.Series,
    step: pd.Series,
    best_step: pd.Series,
    admitted: pd.Series,
    reached: pd.Series,
    plausible: pd.Series,
    persona: Persona,
) -> pd.Series:
    """Each plausible lead's reasoning says where the ladder put it."""
    rungs = persona.ladder
    notes = pd.Series("", index=reasoning.index)
    best_available = admitted & (step > 0) & (step == best_step)
    for at in step[best_available].unique():
        better = " or ".join(rung.name for rung in rungs[: int(at)])
        notes[best_available & (step == at)] = (
            f"; best available: {rungs[int(at)].name}, no {better} found"
        )
    for at in step[plausible & ~reached].unique():
        rung = rungs[int(at)]
        sizes = ", ".join(sorted(rung.bands))
        notes[plausible & ~reached & (step == at)] = (
            f"; not ranked: {rung.name}s are contacted at {sizes} companies, elsewhere only "
            "when nobody better works there"
        )
    notes[reached & ~admitted] = (
        f"; not ranked: the company's {persona.max_ranked_per_company} best contacts come first"
    )
    with_note = notes != ""
    out = reasoning.copy()
    out[with_note] = reasoning[with_note].str.removesuffix(".") + notes[with_note] + "."
    return out
