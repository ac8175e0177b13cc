"""The ideal customer persona and how a title is read against it: no Dagster.

The persona file and the title vocabulary it names, modelled (`spec`) and read with every
error naming its file and key (`reader`, `document`, `rule_entries`); employee ranges turned
into size bands (`sizing`); job titles read into a level, functions and a status by the
vocabulary (`titles`) and, where it finds no function, by meaning with a bundled
multilingual embedding model (`semantic`).
"""
