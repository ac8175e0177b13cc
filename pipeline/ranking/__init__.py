"""Judging and ranking leads with the persona's rules: pure functions over pandas, no Dagster.

Company-size enrichment (`enrichment`), the verdict for one title at one size (`rules`),
verdicts as the evaluations table with the company-level passes (`evaluation`), ranks and
campaign rows per company (`ranked_table`) and the invariants the asset checks enforce
(`invariants`).
"""
