"""The developer tools agree with each other: pre-commit runs the ruff release nox pins."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_pre_commit_runs_the_ruff_release_the_lint_session_installs():
    pinned = re.search(
        r'^RUFF = "ruff==([\d.]+)"$', (ROOT / "noxfile.py").read_text(), re.MULTILINE
    )
    config = (ROOT / ".pre-commit-config.yaml").read_text()
    hooked = re.search(r"ruff-pre-commit\n\s+rev: v([\d.]+)$", config, re.MULTILINE)
    assert pinned and hooked
    assert hooked[1] == pinned[1]
