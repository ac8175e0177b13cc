"""What the sales team sends from: the campaign in its sending tool's import format
(`formats`), the people it must not contact (`suppression`) and what changed since the last
campaign (`changes`), and the files the team opens, written together (`files`, `csv_file`).
No Dagster, no database."""
