"""Thin Dagster asset definitions: load, call the core in `pipeline`, write, describe."""

import warnings

from dagster import BetaWarning, PreviewWarning

# Every asset takes BackfillPolicy.multi_run(1) on purpose (a backfill of several clients runs
# one client per run); the parameter is beta in dagster 1.13, and a check's partitions
# (checked per client, like its asset) are a preview: the warnings tell users nothing they
# can act on.
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=BetaWarning)
warnings.filterwarnings("ignore", message=".*partitions_def.*", category=PreviewWarning)
