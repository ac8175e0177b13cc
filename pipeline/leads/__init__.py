"""Lead files in, one clean row per person: no Dagster, no database.

Reading an export whatever its encoding, separator and header names (`files`), the columns
and the stable identity of a lead (`records`), the company key every lead is grouped by
(`companies`) and the text normalisation all of them share (`text`).
"""
