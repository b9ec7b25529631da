"""The README's two opening commands are the ones users and CI actually run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def opening_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    return [block.strip() for block in blocks[:2]]


def test_readme_opens_with_demo_then_tests() -> None:
    demo, tests = opening_commands()
    assert demo.endswith("starttls-check --demo")
    assert "pytest" in tests
    assert "\n" not in demo
    assert "\n" not in tests


def test_ci_runs_the_readme_test_command_exactly() -> None:
    _, tests = opening_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci_lines
