"""Thin Dagster asset definitions: load, call the core in `pipeline`, write, describe."""

import warnings

from dagster import BetaWarning

# Every asset takes BackfillPolicy.single_run() on purpose (one run ranks all companies);
# the parameter is beta in dagster 1.13 and the warning tells users nothing they can act on.
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=BetaWarning)
