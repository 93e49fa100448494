"""Browser tests: keep a screenshot and the page source of every failure."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    driver = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and driver is not None:
        report.sections.append(("browser", save_failure_artifacts(driver, item.name)))
        site = item.funcargs.get("example_site")
        if site is not None:
            done = ", ".join(f"{name} {secs:.1f}s" for name, secs in site.step_seconds.items())
            report.sections.append(("steps passed", done or "none"))
    return report


def save_failure_artifacts(driver, name):
    """Save a PNG screenshot and the HTML of the current page; return where they are."""
    directory = Path(os.environ.get("E2E_ARTIFACTS_DIR") or tempfile.mkdtemp(prefix="admin-e2e-"))
    directory.mkdir(parents=True, exist_ok=True)
    png = directory / f"{name}.png"
    html = directory / f"{name}.html"
    lines = []
    try:
        lines.append(f"url:        {driver.current_url}")
        driver.save_screenshot(str(png))
        lines.append(f"screenshot: {png}")
        html.write_text(driver.page_source, encoding="utf-8")
        lines.append(f"page:       {html}")
    except Exception as error:  # a dead browser must not hide the real failure
        lines.append(f"could not save the browser state: {error!r}")
    return "\n".join(lines)
