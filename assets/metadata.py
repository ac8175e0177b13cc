"""Metadata helpers shared by the assets: counts and Markdown previews for the UI."""

from __future__ import annotations

import pandas as pd
from dagster import MetadataValue


def counts_by(frame: pd.DataFrame, column: str) -> MetadataValue:
    counts = frame[column].value_counts().sort_index()
    return MetadataValue.json({str(key): int(value) for key, value in counts.items()})


def markdown_table(frame: pd.DataFrame, max_rows: int = 60) -> MetadataValue:
    shown = frame.head(max_rows).astype(str)
    header = "| " + " | ".join(shown.columns) + " |"
    divider = "| " + " | ".join("---" for _ in shown.columns) + " |"
    rows = [
        "| " + " | ".join(value.replace("|", "\\|") for value in row) + " |"
        for row in shown.itertuples(index=False)
    ]
    more = [f"\n_{len(frame) - max_rows} more rows not shown._"] if len(frame) > max_rows else []
    return MetadataValue.md("\n".join([header, divider, *rows, *more]))
