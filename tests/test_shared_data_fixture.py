"""The `shared_data` fixture says loudly what did not run, and fails on unreadable data."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
USES_DATA = """
def test_reads_the_data(shared_data):
    assert (shared_data / "README.md").exists()
"""


def run(pytester: pytest.Pytester, data: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.RunResult:
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text("utf-8"))
    pytester.makepyfile(test_one=USES_DATA)
    monkeypatch.setenv("SXS_SHARED_DATA", str(data))
    monkeypatch.delenv("CI", raising=False)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider")


def test_missing_data_is_a_loud_skip(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result = run(pytester, tmp_path / "absent", monkeypatch)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*1 tests did not run: *absent is missing*", "*not run: *"])


def test_data_that_is_there_but_unreadable_fails(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "data"
    broken.write_text("a file where a folder should be", "utf-8")
    result = run(pytester, broken, monkeypatch)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*is there but is not a readable folder*"])
