"""The offline evaluator: scores a parsed title at a company size against the persona."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.persona.sizing import UNKNOWN_BAND
from pipeline.persona.spec import Exclusion, Persona, ScoreBonus, TitleCondition
from pipeline.persona.titles import FLAG_EMPTY, FLAG_TAGLINE, FLAG_TRANSLATED, TitleProfile

BASIS_EMPTY_TITLE = "empty_title"
BASIS_HARD_EXCLUSION = "hard_exclusion"
BASIS_PRIMARY_TARGET = "primary_target"
BASIS_CHAMPION = "champion"
BASIS_FIT = "department_and_seniority_fit"
BASIS_BEST_AVAILABLE = "best_available"
# A lead judged on fit (not excluded, not a target) is the kind best available may lift.
_LIFTABLE_BASES = frozenset({BASIS_CHAMPION, BASIS_FIT})


@dataclass(frozen=True)
class Verdict:
    relevance_score: int
    is_relevant: bool
    reasoning: str
    department_fit: int
    seniority_fit: int
    # Which rule decided; later evaluators use it to tell clear cases from uncertain ones.
    basis: str
    # Below the threshold, yet worth a call at a company without any primary target.
    best_available_candidate: bool = False


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
    notes = _flag_notes(profile)

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

    score, basis, reason = _base_score(
        profile, judged_band, band_note, persona, department_fit, seniority_fit
    )
    for bonus in persona.score_bonuses:
        if score > 0 and judged_band in bonus.bands and _names_any(bonus, profile):
            score += bonus.points
            reason += f"; +{bonus.points} {bonus.name}"
    for rule in persona.soft_exclusions:
        if _exclusion_applies(rule, profile, judged_band):
            penalties.append((f"deprioritised as {rule.name}", rule.penalty))
    for label, factor in penalties:
        score *= factor
        reason += f"; {label} (x{factor:g})"
    final = min(round(score), 100)
    relevant = final >= persona.relevance_threshold
    if not relevant:
        reason += f"; below the relevance threshold {persona.relevance_threshold}"
    return Verdict(
        final,
        relevant,
        _sentence(reason, notes),
        department_fit,
        seniority_fit,
        basis,
        best_available_candidate=(
            not relevant
            and basis in _LIFTABLE_BASES
            and department_fit >= persona.best_available_min_fit
            # Assistants and students support the commercial team; they do not lead it.
            and not profile.tags & persona.individual_contributor_tags
        ),
    )


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
        extra_roles = len(matched) - 1
        score = (
            persona.top_score
            - persona.rank_step * (target.rank - 1)
            - persona.priority_step * (5 - target.priority)
            + persona.extra_role_points * extra_roles
        )
        also = f", also {', '.join(t.title for t in matched[1:])}" if extra_roles else ""
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


def best_available(verdict: Verdict, persona: Persona) -> Verdict:
    """A lead below the threshold at a company without any primary target, lifted just above it.

    The lead keeps its order among the lifted: its score is spread over the
    `best_available_span` points above the threshold.
    """
    threshold = persona.relevance_threshold
    lifted = threshold + int(verdict.relevance_score * persona.best_available_span / threshold)
    reason = verdict.reasoning.removesuffix(".").replace(
        f"; below the relevance threshold {threshold}", ""
    )
    return Verdict(
        lifted,
        True,
        f"{reason}; best available: the company has no primary target.",
        verdict.department_fit,
        verdict.seniority_fit,
        BASIS_BEST_AVAILABLE,
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


def _flag_notes(profile: TitleProfile) -> list[str]:
    notes = []
    if FLAG_TAGLINE in profile.flags:
        notes.append("tagline ignored")
    if FLAG_TRANSLATED in profile.flags:
        notes.append("title translated")
    return notes


def _sentence(reason: str, notes: list[str]) -> str:
    suffix = f" ({', '.join(notes)})" if notes else ""
    return f"{reason}{suffix}."
