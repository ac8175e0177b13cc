"""The ranked list where the sales team looks: one self-contained HTML report per run.

`html` turns the ranked table and a run summary into a single file with its data, style and
script inline (no network, no CDN): companies grouped with their ranked leads first and the
others behind a toggle, a summary on top, sorting, filters and search, a page of companies at
a time so that 100,000 leads stay quick. No Dagster: the campaign asset calls it.
"""
