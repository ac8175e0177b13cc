"""The agency's clients: who is ranked, against which persona, from which leads, into which
campaign folder. Read from a clients file; without one, a single client named `default` is
built from the settings, so single-client use is unchanged."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from pipeline.campaign.formats import EXPORT_FORMATS
from pipeline.orchestration.settings import EVALUATOR_CHOICES, Settings

DEFAULT_CLIENT = "default"
CAMPAIGN_FILE = "campaign.csv"
# A client's name is a partition key, a folder name and a value in every table.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_REQUIRED = ("persona", "leads")
_OPTIONAL = (
    "export",
    "report",
    "top_n",
    "evaluator",
    "schedule",
    "labels",
    "sheet",
    "columns",
    "export_format",
    "suppress",
    "keep",
)


class ClientsFileError(ValueError):
    """The clients file cannot be used; the message names the file, the client and the key."""


@dataclass(frozen=True)
class Client:
    """One client: its name, its settings (persona, leads, campaign file, top N, evaluator ...)
    and whether the nightly schedule re-ranks it."""

    name: str
    settings: Settings
    scheduled: bool = True


def load_clients(settings: Settings) -> dict[str, Client]:
    """The clients, by name in file order: from `settings.clients_path`, or the one default
    client when no clients file is configured."""
    path = settings.clients_path
    if path is None:
        return {DEFAULT_CLIENT: Client(DEFAULT_CLIENT, settings)}
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ClientsFileError(f"{path}: cannot read the clients file ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise ClientsFileError(f"{path}: not YAML ({' '.join(str(error).split())})") from None
    if not isinstance(document, dict) or set(document) != {"clients"}:
        raise ClientsFileError(f"{path}: expected one top-level key, clients")
    entries = document["clients"]
    if not isinstance(entries, dict) or not entries:
        raise ClientsFileError(f"{path}: clients: expected a mapping of client names")
    return {str(name): _client(path, str(name), entry, settings) for name, entry in entries.items()}


def choose_clients(clients: dict[str, Client], names: list[str], every: bool) -> list[Client]:
    """The clients a command runs: the named ones, every one, or the only one there is."""
    unknown = [name for name in names if name not in clients]
    if unknown:
        raise ClientsFileError(
            f"unknown client {', '.join(map(repr, unknown))} (known: {', '.join(clients)})"
        )
    if every:
        return list(clients.values())
    if names:
        return [clients[name] for name in dict.fromkeys(names)]
    if len(clients) == 1:
        return list(clients.values())
    raise ClientsFileError(
        f"{len(clients)} clients are configured: choose --client NAME or --all-clients "
        f"(known: {', '.join(clients)})"
    )


def _client(path: Path, name: str, entry: Any, base: Settings) -> Client:
    def fail(key: str, message: str) -> ClientsFileError:
        return ClientsFileError(f"{path}: clients.{name}.{key}: {message}")

    if not _NAME.match(name):
        raise ClientsFileError(
            f"{path}: clients.{name}: a client name is lower-case letters, digits, '-' and "
            "'_' (at most 63), starting with a letter or digit"
        )
    if not isinstance(entry, dict):
        raise ClientsFileError(f"{path}: clients.{name}: expected a mapping of settings")
    unknown = sorted(set(map(str, entry)) - {*_REQUIRED, *_OPTIONAL})
    if unknown:
        raise fail(unknown[0], f"unknown key (allowed: {', '.join((*_REQUIRED, *_OPTIONAL))})")
    for key in _REQUIRED:
        if not entry.get(key):
            raise fail(key, "required")

    def file(key: str) -> Path:
        value = entry[key]
        if not isinstance(value, str) or not value.strip():
            raise fail(key, "expected a path")
        return (path.parent / value).expanduser().resolve()

    export_dir = file("export") if "export" in entry else base.export_path.parent / name
    overrides: dict[str, Any] = {
        "persona_path": file("persona"),
        "leads_path": file("leads"),
        "export_path": export_dir / CAMPAIGN_FILE,
        "report_path": file("report") if "report" in entry else None,
        # The expert's labels belong to one persona: a client has none unless it names them.
        "labels_path": file("labels") if "labels" in entry else None,
        "inbox_path": base.inbox_path / name,
        "input_sheet": entry.get("sheet"),
        "suppress_path": file("suppress") if "suppress" in entry else None,
    }
    for key, choices, field in (
        ("export_format", EXPORT_FORMATS, "export_format"),
        ("evaluator", EVALUATOR_CHOICES, "evaluator"),
    ):
        if key in entry:
            if entry[key] not in choices:
                raise fail(key, f"choose from {', '.join(choices)}")
            overrides[field] = entry[key]
    if "keep" in entry:
        keep = entry["keep"]
        if not isinstance(keep, list) or not _all_text(keep):
            raise fail("keep", "expected a list of the leads file's headers")
        overrides["keep_columns"] = tuple(name.strip() for name in keep)
    if "top_n" in entry:
        if not isinstance(entry["top_n"], int) or isinstance(entry["top_n"], bool):
            raise fail("top_n", "expected a whole number")
        overrides["top_n"] = entry["top_n"]
    if "columns" in entry:
        columns = entry["columns"]
        if not isinstance(columns, dict) or not _all_text(columns.values()):
            raise fail("columns", "expected a mapping of our column to the file's header")
        overrides["input_columns"] = tuple(
            (str(ours).strip(), theirs.strip()) for ours, theirs in columns.items()
        )
    scheduled = entry.get("schedule", True)
    if not isinstance(scheduled, bool):
        raise fail("schedule", "expected true or false")
    try:
        return Client(name, replace(base, **overrides), scheduled)
    except ValueError as error:
        raise fail("top_n", str(error)) from None


def _all_text(values: Iterable[object]) -> bool:
    return all(isinstance(value, str) and value.strip() for value in values)
