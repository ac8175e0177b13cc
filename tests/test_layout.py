"""The layout keeps its promises: a framework-free core, subpackages that say what they hold,
documentation whose links resolve, and a project that needs nothing beside its checkout."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ROOT / "pipeline"
CORE_PACKAGES = ("leads", "persona", "ranking", "quality", "campaign", "report", "groq_server")
# Markdown links: [text](target), images included; code spans are removed first.
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)

_BLOCK_DAGSTER = """
import importlib, pkgutil, sys

class BlockDagster:
    def find_spec(self, name, path=None, target=None):
        if name == "dagster" or name.startswith(("dagster.", "dagster_")):
            raise ImportError(f"the core imported {name}")
        return None

sys.meta_path.insert(0, BlockDagster())
import pipeline
for package in sys.argv[1:]:
    module = importlib.import_module(f"pipeline.{package}")
    for info in pkgutil.walk_packages(module.__path__, f"pipeline.{package}."):
        importlib.import_module(info.name)
print("ok")
"""


def test_the_core_packages_import_no_dagster() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _BLOCK_DAGSTER, *CORE_PACKAGES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_a_blocked_dagster_import_is_detected() -> None:
    """The check above can fail: the storage edge imports Dagster and is refused."""
    result = subprocess.run(
        [sys.executable, "-c", _BLOCK_DAGSTER, "storage"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "the core imported dagster" in result.stderr


def test_pipeline_shows_the_architecture() -> None:
    modules = [path for path in PIPELINE.glob("*.py") if path.name != "__init__.py"]
    packages = [path for path in PIPELINE.iterdir() if (path / "__init__.py").is_file()]
    assert len(modules) <= 10, sorted(path.name for path in modules)
    assert len(packages) >= 4
    for package in packages:
        docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
        assert docstring and len(docstring.split()) >= 15, f"{package.name} needs a docstring"


def _documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", _CODE.sub("", markdown), flags=re.MULTILINE)
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings
    }


@pytest.mark.parametrize("document", _documents(), ids=lambda path: path.name)
def test_every_link_resolves(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    for target in _LINK.findall(_CODE.sub("", text)):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path_part, _, anchor = target.partition("#")
        linked = (document.parent / path_part).resolve() if path_part else document
        assert linked.exists(), f"{document.name}: {target} does not exist"
        if anchor:
            assert anchor in _anchors(linked.read_text(encoding="utf-8")), (
                f"{document.name}: {target} names no heading"
            )


def test_the_readme_is_a_quick_start_with_the_manual_in_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    assert "make run" in readme and "make test" in readme
    assert "docs/images/ranked_leads.png" in readme
    assert (ROOT / "docs" / "images" / "ranked_leads.png").stat().st_size > 10_000
    assert len(list((ROOT / "docs").glob("*.md"))) >= 5


def test_nothing_refers_outside_the_checkout() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    outside = "../" + "shared"
    offenders = [
        name
        for name in tracked
        if (ROOT / name).is_file()
        and outside in (ROOT / name).read_text(encoding="utf-8", errors="ignore")
    ]
    assert offenders == []
