"""The quality report `persona-ranker eval` prints: headline metrics, companies, misses."""

from __future__ import annotations

from pipeline.quality.calibration import HeldOutReport
from pipeline.quality.metrics import Miss, QualityReport

# Titles in the misses are cut to this many characters to keep one line per miss.
_TITLE_WIDTH = 60


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def format_quality(report: QualityReport, held_out: HeldOutReport | None = None) -> str:
    lines = [f"Quality against the expert's labels ({report.leads} leads, k={report.k})", ""]
    if held_out is None:
        lines += [f"  {name:<14}{_number(value)}" for name, value in report.headline().items()]
    else:
        lines.append(
            f"  {'':<14}{'configured':>12}{'in-sample':>12}{'held-out':>12}"
            f"   (threshold {held_out.configured_threshold} / "
            f"{held_out.in_sample_threshold} / per company)"
        )
        for name, value in report.headline().items():
            lines.append(
                f"  {name:<14}{_number(value):>12}"
                f"{_number(held_out.in_sample.headline()[name]):>12}"
                f"{_number(held_out.held_out.headline()[name]):>12}"
            )
        tuned = ", ".join(f"{c}={t}" for c, t in held_out.held_out_thresholds.items())
        lines.append(f"  held-out thresholds: {tuned}")
    lines += ["", f"  {'company':<28}{'leads':>6}{'expert':>7}{'ours':>6}  ndcg@k  p@k  hit@1"]
    for company in report.companies:
        lines.append(
            f"  {company.account_name[:27]:<28}{company.leads:>6}{company.expert_ranked:>7}"
            f"{company.ranked:>6}  {company.ndcg_at_k:6.3f}  "
            f"{company.hits_at_k}/{company.picks_at_k}  {'yes' if company.hit_at_1 else 'no'}"
        )
    lines += ["", "We ranked, the expert did not:"]
    lines += _miss_lines(report.false_positives)
    lines += ["", "The expert ranked, we did not:"]
    lines += _miss_lines(report.false_negatives)
    return "\n".join(lines)


def _miss_lines(misses: list[Miss]) -> list[str]:
    if not misses:
        return ["  none"]
    return [
        f"  {miss.account_name[:18]:<18} ours {_rank(miss.our_rank):>3} expert "
        f"{_rank(miss.expert_rank):>3} [{miss.relevance_score:>3}] "
        f"{miss.lead_job_title.strip()[:_TITLE_WIDTH]}\n      {miss.reasoning}"
        for miss in misses
    ]


def _rank(rank: int | None) -> str:
    return "-" if rank is None else str(rank)
