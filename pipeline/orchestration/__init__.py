"""The Dagster edges: what the definitions are assembled from.

Settings from flags and the environment (`settings`), the resources the assets use
(`resources`), the agency's clients (`clients`), the Dagster instance the CLI and the UI
share (`instance`), the client partitions (`partitions`), merging dropped files into the
lead base (`inbox`) and the `run_stats` history of finished runs (`run_history`).
"""
