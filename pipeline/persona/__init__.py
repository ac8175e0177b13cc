"""The ideal customer persona and how a title is read against it: no Dagster.

The persona file's model (`spec`) and its validating reader (`reader`, `document`,
`rule_entries`), employee ranges turned into size bands (`sizing`) and job titles turned into
seniority, departments and tags in the persona's vocabulary (`titles`).
"""
