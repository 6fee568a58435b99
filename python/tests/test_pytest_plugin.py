"""The pytest plugin, run the way users run it: an inner pytest in a subprocess, which loads
the plugin through its ``pytest11`` entry point and runs the installed tooltape binary against
the example agents (examples/python; see conftest.py for the Python they run with).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
from importlib.metadata import version
from pathlib import Path

import pytest

from tooltape import BinaryNotFound, find_tooltape_bin

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
AGENT = ROOT / "examples" / "python" / "anthropic_agent.py"
DROPS_FAILED = ROOT / "examples" / "python" / "broken" / "anthropic_drops_failed_result.py"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # A fresh interpreter, as a user's `pytest` would be: the plugin must load from its entry point.
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def junit(pytester: pytest.Pytester) -> list[ET.Element]:
    return list(ET.parse(pytester.path / "junit.xml").getroot().iter("testcase"))


def test_conformant_agent_passes_with_one_item_per_scenario(pytester: pytest.Pytester, agent_python: str) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.tooltape({str(SCENARIOS)!r}, agent=[{agent_python!r}, {str(AGENT)!r}])
        def test_agent(tooltape):
            assert tooltape.returncode == 0
            turn = tooltape.scenario["runs"][0]["turns"][0]
            assert turn["calls"] == 3 and turn["peak_in_flight"] == 3
        """
    )
    result = run(pytester, "-v", "--junitxml=junit.xml")
    result.stdout.fnmatch_lines(
        [
            "*::test_agent[[]failing_tool[]] PASSED*",
            "*::test_agent[[]three_parallel[]] PASSED*",
        ]
    )
    result.assert_outcomes(passed=2)
    cases = junit(pytester)
    assert [c.get("name") for c in cases] == ["test_agent[failing_tool]", "test_agent[three_parallel]"]
    assert all(len(c) == 0 for c in cases), "no failure, error or skip element"


def test_broken_agent_fails_with_the_terminal_report(pytester: pytest.Pytester, agent_python: str) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.tooltape({str(SCENARIOS / "failing_tool.json")!r})
        def test_agent(tooltape):
            raise AssertionError("the body must not run after a failed tooltape run")
        """
    )
    pytester.makeini(f"[pytest]\ntooltape_agent = {shlex.join([agent_python, str(DROPS_FAILED)])}\n")
    result = run(pytester, "--junitxml=junit.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*FAIL failing_tool anthropic*",
            "*missing-result (must) turn 1, call toolu_01W1yrLpWGNXE3yGpjyD6hPL*",
            "*0 passed, 1 failed*",
            "FAILED *::test_agent[[]failing_tool[]] - Failed: tooltape: failing_tool: missing-result (must)",
        ]
    )
    assert "the body must not run" not in result.stdout.str()
    [case] = junit(pytester)
    [failure] = case.findall("failure")
    assert failure.get("message", "").startswith("Failed: tooltape: failing_tool: missing-result (must)\n")
    assert "FAIL failing_tool anthropic" in failure.text


def test_missing_scenario_path_is_a_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.tooltape("scenarios/nope.json", agent="python {AGENT}")
        def test_agent():
            pass
        """
    )
    result = run(pytester)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*test_agent: scenarios/nope.json: no such file or folder (paths are relative to *"])
    result.assert_outcomes(errors=1)
    assert "During handling" not in result.stdout.str()


def test_tooltape_exit_2_fails_the_item_with_its_error(pytester: pytest.Pytester) -> None:
    broken = pytester.path / "broken.json"
    broken.write_text('{"format": "tooltape-scenario", "version": 1, "cassette": ')
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.tooltape("broken.json", agent="python {AGENT}")
        def test_broken_scenario():
            pass

        @pytest.mark.tooltape({str(SCENARIOS / "three_parallel.json")!r}, agent="no-such-agent-command")
        def test_missing_agent():
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "FAILED *::test_broken_scenario[[]broken[]] - Failed: tooltape could not run (exit 2: bad input or "
            "command line): error: broken.json:1:58 (at `cassette`): EOF while parsing a value",
            "FAILED *::test_missing_agent[[]three_parallel[]] - Failed: tooltape could not run (exit 2: bad input "
            "or command line): error: cannot run the command under test: `no-such-agent-command` was not found*",
        ]
    )


def test_args_pass_through_and_a_marker_without_paths_is_one_item(pytester: pytest.Pytester, agent_python: str) -> None:
    # No path in the marker: tooltape gets exactly the given arguments (the shape of
    # `--synthesize`), here a scenario and a seed; `tooltape_args` from the ini come first.
    pytester.makeini(f"[pytest]\ntooltape_args = --time-scale 0.5\n")
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.tooltape(args=[{str(SCENARIOS / "three_parallel.json")!r}, "--seed", "7"])
        def test_agent(tooltape):
            assert tooltape.argv[1:7] == ["test", "--time-scale", "0.5", {str(SCENARIOS / "three_parallel.json")!r}, "--seed", "7"]
            assert tooltape.report["seed"] == 7

        @pytest.fixture
        def tooltape_agent():
            return [{agent_python!r}, {str(AGENT)!r}]
        """
    )
    result = run(pytester, "-v")
    result.stdout.fnmatch_lines(["*::test_agent PASSED*"])
    result.assert_outcomes(passed=1)


def test_python_means_the_interpreter_running_pytest(pytester: pytest.Pytester) -> None:
    # An agent that exits at once: a cheap failing run whose report names the command.
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.tooltape({str(SCENARIOS / "three_parallel.json")!r}, agent="python -c 'raise SystemExit(3)'")
        def test_agent():
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"tooltape 1 scenario(s), handler {sys.executable} -c raise SystemExit(3), seed 42",
            "FAILED *::test_agent[[]three_parallel[]] - Failed: tooltape: three_parallel: error: the handler failed: "
            "the command exited with exit status: 3",
        ]
    )


def test_no_agent_command_is_a_clear_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.tooltape({str(SCENARIOS / "three_parallel.json")!r})
        def test_agent():
            pass

        @pytest.mark.tooltape({str(SCENARIOS / "three_parallel.json")!r}, agnet="python agent.py")
        def test_typo():
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.tooltape: no agent command; give agent=... to the marker, set tooltape_agent*",
            "*@pytest.mark.tooltape: unknown argument(s) agnet*",
        ]
    )


def test_the_binary_is_the_one_this_package_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOOLTAPE_BIN", raising=False)
    exe = find_tooltape_bin()
    assert exe.parent == Path(sysconfig.get_path("scripts")).resolve(), exe
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["tooltape", version("tooltape")]


def test_tooltape_bin_overrides_and_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "tooltape"
    fake.write_text("")
    monkeypatch.setenv("TOOLTAPE_BIN", str(fake))
    assert find_tooltape_bin() == fake
    monkeypatch.setenv("TOOLTAPE_BIN", str(tmp_path / "missing"))
    with pytest.raises(BinaryNotFound, match="TOOLTAPE_BIN=.*missing: no such file"):
        find_tooltape_bin()


def test_python_m_tooltape_runs_the_binary() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TOOLTAPE_BIN"}
    proc = subprocess.run(
        [sys.executable, "-m", "tooltape", "rules", "missing-result"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "missing-result" in proc.stdout
