"""The example agents (examples/python) need the official `anthropic` and `openai` SDKs. They
run with `TOOLTAPE_PYTHON` when it is set (.ci/run points it at the venv it fills, as for
`cargo test`), else with this interpreter. Without the SDKs the agent tests are skipped, unless
`TOOLTAPE_REQUIRE_PYTHON=1`, which makes that a failure."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def agent_python() -> str:
    python = os.environ.get("TOOLTAPE_PYTHON") or sys.executable
    probe = subprocess.run([python, "-c", "import anthropic, openai"], capture_output=True, text=True)
    if probe.returncode != 0:
        message = f"no Python with anthropic and openai at {python} (set TOOLTAPE_PYTHON)"
        if os.environ.get("TOOLTAPE_REQUIRE_PYTHON") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return python


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    # Inner pytest runs print the short summary cut to the terminal width; keep it whole.
    monkeypatch.setenv("COLUMNS", "300")
