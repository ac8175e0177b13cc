"""The rules evaluator, row by row of the persona."""

import pytest

from pipeline.persona.sizing import UNKNOWN_BAND
from pipeline.persona.spec import Persona
from pipeline.persona.titles import parse_title
from pipeline.ranking.rules import (
    BASIS_CHAMPION,
    BASIS_EMPTY_TITLE,
    BASIS_HARD_EXCLUSION,
    BASIS_PRIMARY_TARGET,
    Verdict,
    evaluate_title,
)

BANDS = ("startup", "smb", "mid_market", "enterprise")


def judge(title: str, band: str, persona: Persona) -> Verdict:
    return evaluate_title(parse_title(title, persona), band, persona)


PRIMARY_TARGET_TITLES = {
    "startup": ["Co-Founder", "CEO", "Owner", "Managing Director", "Head of Sales"],
    "smb": [
        "VP of Sales",
        "Head of Sales",
        "Sales Director",
        "Director of Sales Development",
        "Chief Revenue Officer",
        "Head of Revenue Operations",
        "VP of Growth",
    ],
    "mid_market": [
        "VP of Sales Development",
        "VP of Sales",
        "Head of Sales Development",
        "Director of Sales Development",
        "CRO",
        "VP of Revenue Operations",
        "VP of GTM",
    ],
    "enterprise": [
        "VP of Sales Development",
        "VP of Inside Sales",
        "Head of Sales Development",
        "CRO",
        "VP Revenue Operations",
        "Director of Sales Development",
        "VP of Field Sales",
    ],
}


@pytest.mark.parametrize(
    ("band", "rank", "title"),
    [
        (band, rank, title)
        for band, titles in PRIMARY_TARGET_TITLES.items()
        for rank, title in enumerate(titles, start=1)
    ],
)
def test_every_primary_target_row(persona: Persona, band: str, rank: int, title: str) -> None:
    verdict = judge(title, band, persona)
    target = persona.primary_targets[band][rank - 1]
    assert verdict.basis == BASIS_PRIMARY_TARGET
    assert f"#{target.rank} {target.title}" in verdict.reasoning
    assert verdict.is_relevant


@pytest.mark.parametrize("band", BANDS)
def test_primary_targets_score_in_persona_order(persona: Persona, band: str) -> None:
    """In the persona's order, except that rule of thumb 2 lifts sales development at 50+."""
    verdicts = [judge(title, band, persona) for title in PRIMARY_TARGET_TITLES[band]]
    plain = [v.relevance_score for v in verdicts if "sales development" not in v.reasoning]
    assert plain == sorted(plain, reverse=True)
    assert len(set(plain)) == len(plain)
    for title, verdict in zip(PRIMARY_TARGET_TITLES[band], verdicts, strict=True):
        if "Sales Development" in title and band != "startup":
            assert "+5 sales development at 50+ employees" in verdict.reasoning


def test_sales_development_leads_outrank_the_vp_of_sales_at_mid_market(persona: Persona) -> None:
    """Rule of thumb 2: "Sales Development" in a title is top priority at 50+ employees."""
    director = judge("Director of Sales Development", "mid_market", persona)
    vp_sales = judge("VP of Sales", "mid_market", persona)
    assert director.fit > vp_sales.fit
    assert "+5 sales development at 50+ employees" in director.reasoning


@pytest.mark.parametrize(
    ("band", "title"),
    [
        ("mid_market", "Sales Manager"),
        ("mid_market", "BDR Manager"),
        ("mid_market", "RevOps Manager"),
        ("enterprise", "BDR Manager"),
        ("enterprise", "Director of Sales Operations"),
        ("enterprise", "Revenue Operations Manager"),
    ],
)
def test_champions(persona: Persona, band: str, title: str) -> None:
    verdict = judge(title, band, persona)
    assert verdict.basis == BASIS_CHAMPION
    assert verdict.is_relevant
    lowest_target = judge(PRIMARY_TARGET_TITLES[band][-1], band, persona)
    assert verdict.relevance_score < lowest_target.relevance_score


@pytest.mark.parametrize("band", ["mid_market", "enterprise"])
@pytest.mark.parametrize("title", ["CEO", "President", "Founder & CEO", "Président"])
def test_a_ceo_at_a_larger_company_is_a_company_leader_not_a_target(
    persona: Persona, band: str, title: str
) -> None:
    """ "Do not contact" at these sizes means below everyone better (the ladder), not never."""
    verdict = judge(title, band, persona)
    assert verdict.basis != BASIS_HARD_EXCLUSION
    assert verdict.rung == "company leader"


@pytest.mark.parametrize("band", BANDS)
@pytest.mark.parametrize(
    "title",
    [
        "CFO",
        "Finance Director",
        "HR Manager",
        "Head of Recruiting",
        "General Counsel",
        "Compliance Officer",
        "Customer Success Manager",
        "VP Customer Success",
        "Retired Sales Consultant",
        "Student",
        "Ex-VP Sales",
        "Open to work | former Sales Director",
    ],
)
def test_hard_exclusions_in_every_band(persona: Persona, band: str, title: str) -> None:
    verdict = judge(title, band, persona)
    assert verdict.basis == BASIS_HARD_EXCLUSION, verdict.reasoning
    assert not verdict.is_relevant
    assert verdict.reasoning.startswith("Do not contact: ")


@pytest.mark.parametrize("band", BANDS)
@pytest.mark.parametrize(
    "title",
    [
        "Welder",
        "Laser Operator",
        "Material Planner",
        "Quality Control Technician",
        "Supply Chain Analyst",
        "Graphic Designer",
        "Business Analyst",
    ],
)
def test_operators_and_unrelated_roles_are_never_relevant(
    persona: Persona, band: str, title: str
) -> None:
    assert not judge(title, band, persona).is_relevant


@pytest.mark.parametrize(
    ("band", "soft", "plain"),
    [
        ("enterprise", "Sales Development Representative", "Sales Development Manager"),
        ("mid_market", "Senior Account Executive", "Area Sales Manager"),
        ("smb", "VP Marketing", "VP of Sales"),
        ("smb", "Sales Advisor to the Board", "Sales Director"),
    ],
)
def test_soft_exclusions_rank_below_comparable_roles(
    persona: Persona, band: str, soft: str, plain: str
) -> None:
    assert judge(soft, band, persona).relevance_score < judge(plain, band, persona).relevance_score
    assert "deprioritised" in judge(soft, band, persona).reasoning


def test_seniority_matrix_drives_scores_across_bands(persona: Persona) -> None:
    # Directors matter more as companies grow (fit 2 at startups, 5 at mid-market).
    scores = {
        band: judge("Business Development Director", band, persona).relevance_score
        for band in ("startup", "mid_market")
    }
    assert scores["mid_market"] > scores["startup"] > 0
    # Founders are the reverse: a primary target at a startup, a company leader further up.
    assert judge("Co-Founder", "startup", persona).rung == "primary target"
    assert judge("Co-Founder", "enterprise", persona).rung == "company leader"
    assert judge("Co-Founder", "enterprise", persona).fit < judge("Co-Founder", "smb", persona).fit


@pytest.mark.parametrize("band", BANDS)
@pytest.mark.parametrize("title", ["CTO", "VP Engineering", "Head of Product", "CPTO"])
def test_technology_and_product_leaders_stand_on_the_rung_below_everyone_better(
    persona: Persona, band: str, title: str
) -> None:
    verdict = judge(title, band, persona)
    assert verdict.rung == "product or technology leader"
    rung = next(rung for rung in persona.ladder if rung.name == verdict.rung)
    assert rung.bands == frozenset()  # reached only where nobody better works


@pytest.mark.parametrize("band", BANDS)
@pytest.mark.parametrize("title", ["Product Manager", "Software Engineer", "Marketing Manager"])
def test_non_commercial_individual_contributors_stand_on_no_rung(
    persona: Persona, band: str, title: str
) -> None:
    verdict = judge(title, band, persona)
    assert verdict.rung == "" and not verdict.is_relevant


def test_mixed_title_is_deprioritised_not_excluded(persona: Persona) -> None:
    mixed = judge("Co-Founder & CTO", "startup", persona)
    plain = judge("Co-Founder", "startup", persona)
    assert mixed.is_relevant
    assert mixed.fit < plain.fit
    assert judge("Co-Founder & CTO", "enterprise", persona).rung == "company leader"


@pytest.mark.parametrize("title", ["", "undefined", "N/A"])
def test_empty_title_is_not_relevant(persona: Persona, title: str) -> None:
    verdict = judge(title, "startup", persona)
    assert verdict.basis == BASIS_EMPTY_TITLE
    assert not verdict.is_relevant


def test_unknown_size_is_judged_as_the_configured_band(persona: Persona) -> None:
    unknown = judge("VP of Sales", UNKNOWN_BAND, persona)
    configured = judge("VP of Sales", persona.unknown_size_band_as, persona)
    assert unknown.relevance_score == configured.relevance_score
    assert "size unknown" in unknown.reasoning


def test_taglines_do_not_change_the_verdict(persona: Persona) -> None:
    tagged = judge("VP of Sales | Helping manufacturers grow @ Acme", "smb", persona)
    assert tagged.relevance_score == judge("VP of Sales", "smb", persona).relevance_score
    assert "tagline ignored" in tagged.reasoning


def test_fits_are_reported(persona: Persona) -> None:
    verdict = judge("Sales Director", "enterprise", persona)
    assert (verdict.department_fit, verdict.seniority_fit) == (5, 4)
