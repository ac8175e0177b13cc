"""Persona Ranker: a framework-free core (persona, sizing, titles, rules, ranking) and its
Dagster edges (resources, IO manager, partitions, definitions)."""
