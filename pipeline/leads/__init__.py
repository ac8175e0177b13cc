"""Lead files in, one clean row per person: no Dagster, no database.

Reading an export whatever its encoding, separator, title rows and footer (`tables`,
`files`), which header is which of our columns (`columns`) and which tool wrote it
(`sources`), the columns and the stable identity of a lead (`records`), the company key every
lead is grouped by (`companies`) and the text normalisation all of them share (`text`).
"""
