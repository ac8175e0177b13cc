"""The settings a run was launched with, as plain data that travels with the run: a step in
another process or on another machine rebuilds the same definitions from them, whatever its
own environment says.

The one thing not carried is a secret: a database or broker URL with a password travels as the
name of the variable that holds it (a password-less URL with PGPASSWORD or ~/.pgpass travels
whole).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit

from pipeline.orchestration.clients import Client
from pipeline.orchestration.executors import ENV_CELERY_BROKER
from pipeline.orchestration.settings import ENV_DATABASE_URL, Settings

_FROM_ENVIRONMENT = "env"
# URLs that may hold a password, and the variable a process reads it from instead.
_SECRET_URLS = (
    ("database_url", ENV_DATABASE_URL),
    ("celery_broker", ENV_CELERY_BROKER),
)
_HINTS = get_type_hints(Settings)


def settings_document(settings: Settings) -> dict[str, Any]:
    """Every setting as JSON-ready values."""
    document: dict[str, Any] = {}
    for field in fields(Settings):
        value = getattr(settings, field.name)
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = [list(item) if isinstance(item, tuple) else item for item in value]
        document[field.name] = value
    for field, variable in _SECRET_URLS:
        url = getattr(settings, field)
        if url and urlsplit(url).password is not None:
            document[field] = {_FROM_ENVIRONMENT: variable}
    return document


def settings_from_document(
    document: Mapping[str, Any], environ: Mapping[str, str] = os.environ
) -> Settings:
    """The settings `settings_document` wrote."""
    values: dict[str, Any] = {}
    for name, value in document.items():
        kind = _HINTS[name]
        if isinstance(value, dict) and set(value) == {_FROM_ENVIRONMENT}:
            variable = value[_FROM_ENVIRONMENT]
            if not environ.get(variable):
                raise ValueError(f"the run's {name} is a secret this process lacks: set {variable}")
            value = environ[variable]
        elif value is not None and Path in getattr(kind, "__args__", (kind,)):
            value = Path(value)
        elif isinstance(value, list):
            value = tuple(tuple(item) if isinstance(item, list) else item for item in value)
        values[name] = value
    return replace(Settings(), **values)


def clients_document(clients: Mapping[str, Client]) -> dict[str, Any]:
    return {
        name: {"settings": settings_document(client.settings), "scheduled": client.scheduled}
        for name, client in clients.items()
    }


def clients_from_document(
    document: Mapping[str, Any], environ: Mapping[str, str] = os.environ
) -> dict[str, Client]:
    return {
        name: Client(name, settings_from_document(entry["settings"], environ), entry["scheduled"])
        for name, entry in document.items()
    }
