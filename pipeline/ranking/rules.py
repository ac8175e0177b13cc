"""The offline evaluator: judges a parsed title at a company size against the persona.

A verdict places the lead on a rung of the persona's ladder (or on none) and scores its fit
there; which rungs a company reaches, and the final score, are decided per company
(`pipeline.ranking.ladder`)."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.persona.sizing import UNKNOWN_BAND
from pipeline.persona.spec import Exclusion, Persona, ScoreBonus, TitleCondition
from pipeline.persona.titles import (
    FLAG_EMPTY,
    FLAG_TAGLINE,
    FLAG_TRANSLATED,
    FLAG_UNREAD,
    TitleProfile,
    title_level,
    title_status,
)

BASIS_EMPTY_TITLE = "empty_title"
# A title whose function neither the vocabulary nor the semantic reader could read.
BASIS_UNREAD = "unread_title"
BASIS_HARD_EXCLUSION = "hard_exclusion"
BASIS_PRIMARY_TARGET = "primary_target"
BASIS_CHAMPION = "champion"
BASIS_FIT = "department_and_seniority_fit"


@dataclass(frozen=True)
class Verdict:
    """One title at one size. On a rung, `relevance_score` is at least the threshold (how well
    the lead fits its rung: the threshold plus its fit out of 100, scaled into the points above
    the threshold) and `is_relevant` is true; on none, it stays below the threshold."""

    relevance_score: int
    is_relevant: bool
    reasoning: str
    department_fit: int
    seniority_fit: int
    # Which rule decided; later evaluators use it to tell clear cases from uncertain ones.
    basis: str
    # The ladder rung the title stands on ('' for none), and the fit there (0-100).
    rung: str = ""
    fit: int = 0


def effective_band(band: str, persona: Persona) -> str:
    return persona.unknown_size_band_as if band == UNKNOWN_BAND else band


def evaluate_title(profile: TitleProfile, band: str, persona: Persona) -> Verdict:
    judged_band = effective_band(band, persona)
    band_note = f"{judged_band} (size unknown)" if band == UNKNOWN_BAND else judged_band
    seniority_fit = persona.seniority_matrix[profile.seniority][judged_band]
    department_fits = {
        dept: persona.department_relevance[dept][judged_band]
        for dept in profile.departments
        if dept in persona.department_relevance
    }
    department_fit = max(department_fits.values(), default=0)
    notes = _flag_notes(profile, persona)

    if FLAG_EMPTY in profile.flags:
        return Verdict(
            0, False, "Empty or placeholder title: nothing to judge.", 0, 0, BASIS_EMPTY_TITLE
        )

    penalties: list[tuple[str, float]] = []
    for rule in persona.hard_exclusions:
        if not _exclusion_applies(rule, profile, judged_band):
            continue
        if _is_mixed_title(rule, profile, department_fits, persona):
            penalties.append((f"also {rule.name}", persona.mixed_title_penalty))
            continue
        return Verdict(
            0,
            False,
            _sentence(f"Do not contact: {rule.name} at {band_note}", notes),
            department_fit,
            seniority_fit,
            BASIS_HARD_EXCLUSION,
        )

    if FLAG_UNREAD in profile.flags:
        return Verdict(
            0,
            False,
            _sentence("No function read in the title: nobody is contacted on a guess", notes),
            department_fit,
            seniority_fit,
            BASIS_UNREAD,
        )

    score, basis, reason = _base_score(
        profile, judged_band, band_note, persona, department_fit, seniority_fit
    )
    for bonus in persona.score_bonuses:
        if score > 0 and judged_band in bonus.bands and _names_any(bonus, profile):
            score += bonus.points
            reason += f"; +{bonus.points} {bonus.name}"
    for rule in persona.soft_exclusions:
        # "Head of Sales & Marketing" is a sales leader first: a department that deprioritises
        # does not, beside one that matters at this size.
        function_fits = {
            dept: fit
            for dept, fit in department_fits.items()
            if dept not in persona.company_departments
        }
        if _exclusion_applies(rule, profile, judged_band) and not _is_mixed_title(
            rule, profile, function_fits, persona
        ):
            penalties.append((f"deprioritised as {rule.name}", rule.penalty))
    for label, factor in penalties:
        score *= factor
        reason += f"; {label} (x{factor:g})"
    fit = max(0, min(round(score), 100))
    rung = ladder_rung(profile, basis, persona)
    if rung and not profile.tags & persona.individual_contributor_tags:
        return Verdict(
            plausible_score(fit, persona),
            True,
            _sentence(f"{reason}; on the ladder as {rung}", notes),
            department_fit,
            seniority_fit,
            basis,
            rung,
            fit,
        )
    return Verdict(
        min(fit, persona.relevance_threshold - 1),
        False,
        _sentence(f"{reason}; on no rung of the persona's ladder", notes),
        department_fit,
        seniority_fit,
        basis,
    )


def plausible_score(fit: int, persona: Persona) -> int:
    """A fit of 0-100 on a rung as a score at or above the threshold."""
    threshold = persona.relevance_threshold
    return threshold + round((100 - threshold) * fit / 100)


def fit_of_score(score: int, persona: Persona) -> int:
    """The fit (0-100) a score at or above the threshold says (a model's answer); 0 below."""
    threshold = persona.relevance_threshold
    return max(0, round((score - threshold) * 100 / (100 - threshold)))


def ladder_rung(profile: TitleProfile, basis: str, persona: Persona) -> str:
    """The first rung the title meets: the primary targets stand on the first, the champions
    on the rung that names them."""
    for rung in persona.ladder:
        if rung.condition is None:
            if basis == BASIS_PRIMARY_TARGET:
                return rung.name
        elif (rung.champions and basis == BASIS_CHAMPION) or condition_matches(
            rung.condition, profile
        ):
            return rung.name
    return ""


def _base_score(
    profile: TitleProfile,
    band: str,
    band_note: str,
    persona: Persona,
    department_fit: int,
    seniority_fit: int,
) -> tuple[float, str, str]:
    matched = [t for t in persona.primary_targets[band] if condition_matches(t.condition, profile)]
    if matched:
        target = matched[0]
        score = (
            persona.top_score
            - persona.rank_step * (target.rank - 1)
            - persona.priority_step * (5 - target.priority)
        )
        also = f", also {', '.join(t.title for t in matched[1:])}" if len(matched) > 1 else ""
        return (
            float(score),
            BASIS_PRIMARY_TARGET,
            f"Primary target at {band_note}: #{target.rank} {target.title} "
            f"(priority {target.priority}/5){also}",
        )
    for champion in persona.champions[band]:
        if condition_matches(champion.condition, profile):
            return (
                float(champion.score),
                BASIS_CHAMPION,
                f"Champion at {band_note}: {champion.title}",
            )
    score = 100 * (department_fit / 5) * (seniority_fit / 5) * persona.base_score_scale
    departments = ", ".join(sorted(profile.departments)) or "no target department"
    level = profile.seniority.replace("_", " ")
    return (
        score,
        BASIS_FIT,
        f"{departments} (fit {department_fit}/5), {level} (fit {seniority_fit}/5 at {band_note})",
    )


def condition_matches(condition: TitleCondition, profile: TitleProfile) -> bool:
    if condition.seniority and profile.seniority not in condition.seniority:
        return False
    if condition.departments and not condition.departments & profile.departments:
        return False
    return not condition.tags or bool(condition.tags & profile.tags)


def _names_any(rule: Exclusion | ScoreBonus, profile: TitleProfile) -> bool:
    return bool(rule.departments & profile.departments or rule.tags & profile.tags)


def _exclusion_applies(rule: Exclusion, profile: TitleProfile, band: str) -> bool:
    if rule.seniority and profile.seniority not in rule.seniority:
        return False
    return band in rule.bands and _names_any(rule, profile)


def _is_mixed_title(
    rule: Exclusion, profile: TitleProfile, department_fits: dict[str, int], persona: Persona
) -> bool:
    """An excluded department next to a department that matters at this size."""
    if rule.tags & profile.tags:
        return False
    return any(
        fit >= persona.mixed_title_min_fit
        for dept, fit in department_fits.items()
        if dept not in rule.departments
    )


def _flag_notes(profile: TitleProfile, persona: Persona) -> list[str]:
    """What the reader made of the title: its level, functions and status, and how it read."""
    functions = "+".join(sorted(profile.departments)) or "no function"
    level = title_level(profile.seniority, profile.tags).replace("_", " ")
    notes = [f"read: {level}, {functions}, {title_status(profile.tags, persona).replace('_', ' ')}"]
    if profile.reading_note:
        notes.append(profile.reading_note)
    if FLAG_TAGLINE in profile.flags:
        notes.append("tagline ignored")
    if FLAG_TRANSLATED in profile.flags:
        notes.append("title translated")
    return notes


def _sentence(reason: str, notes: list[str]) -> str:
    suffix = f" ({', '.join(notes)})" if notes else ""
    return f"{reason}{suffix}."
