"""How fast a report opens and answers in headless Chromium: seconds from navigation to the
first page of companies drawn, then for a company filter, a size filter and a sort.

    .venv/bin/python bench/report_load.py data/exports/report.html [--chromium /usr/bin/chromium]

Make a large one with `bench/make_leads.py 100000 10000` and `persona-ranker run --leads ...`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright


def timed(page: Page, action) -> float:
    started = time.perf_counter()
    action()
    page.wait_for_selector("section.company")
    return round(time.perf_counter() - started, 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=args.chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        figures = {
            "report_mb": round(args.report.stat().st_size / 1e6, 2),
            "open_s": timed(page, lambda: page.goto(args.report.resolve().as_uri())),
            "shown": page.locator("#shown").inner_text(),
            "company_filter_s": timed(page, lambda: page.fill("#company", "a")),
            "size_filter_s": timed(page, lambda: page.select_option("#band", index=1)),
            "sort_s": timed(page, lambda: page.locator("th[data-sort=title]").first.click()),
        }
        browser.close()
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
