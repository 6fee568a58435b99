"""pytest plugin: test an agent's parallel tool calling with tooltape, one item per scenario.

Loaded automatically once the package is installed (entry point ``pytest11``)::

    import pytest

    @pytest.mark.tooltape("scenarios/", agent="python my_agent.py")
    def test_parallel_tool_calls(tooltape):
        # Runs only when tooltape found no violation; the JSON report is at hand.
        turn = tooltape.scenario["runs"][0]["turns"][0]
        assert turn["peak_in_flight"] == turn["calls"]

Each scenario file (folders are searched for ``*.json``, as ``tooltape test`` does) becomes
its own item, ``test_parallel_tool_calls[anthropic-three_parallel]``, which runs
``tooltape test SCENARIO [ARGS] --json FILE -- AGENT`` and fails with tooltape's terminal
report as its message. The test body, if any, runs after a conformant run.

Marker: ``@pytest.mark.tooltape(*paths, agent=None, args=())``.

- ``paths``: scenario files or folders, relative to pytest's rootdir (tooltape and the agent run
  there too). No path: a single item that runs ``tooltape test ARGS -- AGENT`` as is (tooltape's
  own default, or ``args=["--synthesize"]``).
- ``agent``: the command under test, a string (split like a shell would) or a list.
- ``args``: more ``tooltape test`` arguments, passed through unchanged (``--lenient``,
  ``--seed 7``, ``--time-scale 0.5``, ...).

The agent command, when the marker has none: the ``tooltape_agent`` fixture (override it in a
conftest.py to compute it), which by default reads the ``tooltape_agent`` ini option. A command
whose first word is ``python`` runs with the interpreter running pytest (``sys.executable``),
so the agent sees the packages pytest sees. The ``tooltape_args`` ini option gives arguments for
every tooltape test (before the marker's). ``TOOLTAPE_BIN`` picks another tooltape binary.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

import pytest

from tooltape import BinaryNotFound, find_tooltape_bin

MARKER = "tooltape"
_CASE = "_tooltape_case"

# ``tooltape test`` exit codes (README): 0 conformant, 1 violations, 2 bad input or command line.
EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "tooltape_agent",
        type="args",
        help="tooltape: the agent command under test (shell words), when a marker gives none",
    )
    parser.addini(
        "tooltape_args",
        type="args",
        help="tooltape: extra `tooltape test` arguments for every tooltape test",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*paths, agent=None, args=()): run `tooltape test` on each scenario file "
        "under paths against the agent command, one test item per scenario",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None or not marker.args:
        return
    root = metafunc.config.rootpath
    try:
        files = discover([Path(p) for p in marker.args], root)
    except UsageError as e:
        error = e
    else:
        ids = [scenario_name(root / f) for f in files]
        metafunc.parametrize(_CASE, files, ids=ids, indirect=True)
        return
    # Failed outside the except block, so that the report shows no "during handling" chain.
    pytest.fail(f"@pytest.mark.{MARKER} on {metafunc.definition.name}: {error}", pytrace=False)


class UsageError(Exception):
    """A marker that cannot name any scenario (missing path, empty folder)."""


def discover(paths: Sequence[Path], root: Path) -> list[Path]:
    """The scenario files under ``paths``, as ``tooltape test`` finds them: files as given,
    folders searched for ``*.json`` (recursively, sorted by name). Relative paths are taken
    from ``root``; the result stays relative to it where it was."""
    out: list[Path] = []
    for p in paths:
        full = p if p.is_absolute() else root / p
        if full.is_file():
            out.append(p)
        elif full.is_dir():
            found = _walk(full)
            if not found:
                raise UsageError(f"{p}: no scenario files (*.json) in this folder")
            out.extend(f if p.is_absolute() else f.relative_to(root) for f in found)
        else:
            raise UsageError(f"{p}: no such file or folder (paths are relative to {root})")
    return out


def _walk(folder: Path) -> list[Path]:
    # As tooltape's walkdir: each folder's entries by name, depth first, symlinks not followed.
    out: list[Path] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_symlink():
            continue
        if entry.is_dir():
            out.extend(_walk(entry))
        elif entry.suffix == ".json" and entry.is_file():
            out.append(entry)
    return out


def scenario_name(path: Path) -> str:
    """The name tooltape reports for a scenario: its ``name`` member, else the file stem."""
    try:
        with open(path, encoding="utf-8") as f:
            name = json.load(f).get("name")
        if isinstance(name, str) and name:
            return name
    except (OSError, ValueError, AttributeError):
        pass  # tooltape itself reports a broken file when the item runs
    return path.stem


class TooltapeRun:
    """One ``tooltape test`` run of a test item; the ``tooltape`` fixture.

    Filled in before the test body runs: ``argv`` (the whole command), ``returncode``,
    ``output`` (tooltape's terminal report, then its stderr), ``error`` (its stderr),
    ``report`` (the parsed JSON report) and ``scenario`` (its single scenario, for a
    one-scenario item).
    """

    def __init__(self, scenario: Optional[Path], agent: list[str], args: list[str], cwd: Path, json_path: Path):
        self.scenario_path = scenario
        self.agent = agent
        self.args = args
        self.cwd = cwd
        self.json_path = json_path
        self.argv: list[str] = []
        self.returncode: Optional[int] = None
        self.output = ""
        self.error = ""
        self.report: Optional[dict[str, Any]] = None

    @property
    def scenario(self) -> Optional[dict[str, Any]]:
        scenarios = (self.report or {}).get("scenarios") or []
        return scenarios[0] if len(scenarios) == 1 else None

    def run(self) -> None:
        try:
            exe = find_tooltape_bin()
        except BinaryNotFound as e:
            pytest.fail(f"tooltape: {e}", pytrace=False)
        paths = [str(self.scenario_path)] if self.scenario_path is not None else []
        self.argv = [
            os.fsdecode(exe), "test", *paths, *self.args,
            "--json", str(self.json_path), "--", *self.agent,
        ]
        proc = subprocess.run(
            self.argv,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self.returncode = proc.returncode
        self.error = proc.stderr.strip()
        self.output = "\n".join(s.rstrip("\n") for s in (proc.stdout, proc.stderr) if s.strip())
        if self.json_path.is_file():
            with open(self.json_path, encoding="utf-8") as f:
                self.report = json.load(f)

    def headline(self) -> str:
        """One line for pytest's summary and JUnit's message: each failed scenario and the
        rules it broke (expected ones left out), or the error that ended its run."""
        parts = []
        for s in (self.report or {}).get("scenarios") or []:
            if s.get("passed"):
                continue
            rules = dict.fromkeys(
                f"{v['rule']} ({v['level']})" for v in s.get("violations", []) if not v.get("expected")
            )
            errors = [r["error"] for r in s.get("runs", []) if r.get("error")]
            what = ", ".join(rules) or (f"error: {errors[0]}" if errors else s.get("status", "failed"))
            parts.append(f"{s.get('name')}: {what}")
        return "tooltape: " + ("; ".join(parts) or "violations")

    def check(self) -> None:
        """Fail the test unless tooltape found the agent conformant."""
        code = self.returncode
        if code == EXIT_OK and self.report is not None:
            if not self.report.get("scenarios"):
                pytest.skip(f"tooltape ran no scenario with {shlex.join(self.args)}")
            return
        if code == EXIT_VIOLATIONS:
            pytest.fail(f"{self.headline()}\n\n{self.output}", pytrace=False)
        what = {
            EXIT_OK: "exited 0 without writing its JSON report",
            EXIT_USAGE: "could not run (exit 2: bad input or command line)",
        }.get(code, f"exited {code} unexpectedly")
        first = self.error.splitlines()[0] if self.error else ""
        pytest.fail(
            f"tooltape {what}: {first}\n\n{self.output}\ncommand: {shlex.join(self.argv)}", pytrace=False
        )


@pytest.fixture
def tooltape_agent(pytestconfig: pytest.Config) -> Optional[list[str]]:
    """The agent command under test, for markers that give none: the ``tooltape_agent`` ini
    option. Override this fixture to compute it (e.g. ``[sys.executable, "agent.py"]``)."""
    return list(pytestconfig.getini("tooltape_agent")) or None


@pytest.fixture(autouse=True)
def _tooltape_case(request: pytest.FixtureRequest) -> Optional[TooltapeRun]:
    # Autouse so that the marker alone can parametrize a test: pytest parametrizes only
    # names in a test's fixture closure. Unmarked tests get None and pay nothing else.
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return None
    unknown = set(marker.kwargs) - {"agent", "args"}
    if unknown:
        pytest.fail(f"@pytest.mark.{MARKER}: unknown argument(s) {', '.join(sorted(unknown))}", pytrace=False)
    agent = marker.kwargs.get("agent")
    if agent is None:
        agent = request.getfixturevalue("tooltape_agent")
    if not agent:
        pytest.fail(
            f"@pytest.mark.{MARKER}: no agent command; give agent=... to the marker, "
            "set tooltape_agent in the pytest ini options, or override the tooltape_agent fixture",
            pytrace=False,
        )
    config = request.config
    args = [*config.getini("tooltape_args"), *_words(marker.kwargs.get("args", ()))]
    return TooltapeRun(
        scenario=getattr(request, "param", None),
        agent=_python_is_sys_executable(_words(agent)),
        args=args,
        cwd=config.rootpath,
        json_path=request.getfixturevalue("tmp_path") / "tooltape.json",
    )


@pytest.fixture
def tooltape(_tooltape_case: Optional[TooltapeRun]) -> TooltapeRun:
    """This item's tooltape run, already checked when the test body sees it."""
    if _tooltape_case is None:
        pytest.fail(f"the tooltape fixture needs a @pytest.mark.{MARKER}(...) test", pytrace=False)
    return _tooltape_case


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    # In the call phase, before the body: a violation is a test failure, not a setup error.
    case = getattr(item, "funcargs", {}).get(_CASE)
    if isinstance(case, TooltapeRun):
        case.run()
        case.check()


def _words(value: Any) -> list[str]:
    if isinstance(value, str):
        return shlex.split(value)
    if isinstance(value, os.PathLike):
        return [os.fspath(value)]
    return [os.fspath(v) if isinstance(v, os.PathLike) else str(v) for v in value]


def _python_is_sys_executable(command: list[str]) -> list[str]:
    if command and command[0] == "python":
        return [sys.executable, *command[1:]]
    return command
