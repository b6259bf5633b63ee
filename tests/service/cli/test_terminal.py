"""Wide tables in a real terminal of 80 columns (a pty): nothing cut to an ellipsis, no line
wider than the terminal, every value whole on its line."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from service.matrix.recipe import MatrixRecipe
from service.matrix.results import Cell, MatrixResults, save_results
from tests.training.test_mixtures import synthetic
from training.languages import MAIN

SXS = Path(sys.executable).parent / "sxs"
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def in_terminal(args: list[str], columns: int = 80, timeout_s: float = 120) -> list[str]:
    """What `args` shows in a terminal `columns` wide: its lines, escape codes removed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    process = subprocess.Popen(
        args, stdin=follower, stdout=follower, stderr=follower, env=environment | {"TERM": "xterm"}
    )
    os.close(follower)
    output = b""
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the program ended and closed the terminal
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
    assert process.returncode == 0, output.decode(errors="replace")
    text = ESCAPES.sub("", output.decode("utf-8")).replace("\r\n", "\n")
    return text.splitlines()


def assert_readable(lines: list[str], values: list[str], columns: int = 80) -> None:
    """No ellipsis, no table line wider than the terminal, every value whole on a line."""
    assert "…" not in "\n".join(lines)
    table = [line for line in lines if set(line) & set("│┃━─┏┗┡└|")]  # | : Markdown
    assert table and max(len(line) for line in table) <= columns, max(table, key=len)
    missing = [value for value in values if not any(value in line for line in lines)]
    assert missing == []


def test_a_matrix_of_twelve_languages_reads_at_80_columns(tmp_path: Path) -> None:
    languages = list(MAIN)
    rows = [f"uniform-p{p}" for p in (0, 10, 50, 100)]
    recipe = MatrixRecipe.model_validate(
        {"title": "sweep", "rows": rows, "languages": languages,
         "baselines": dict.fromkeys(languages, "base")}
    )  # fmt: skip
    cells = [
        Cell(row=row, language=language, baseline="base", score=40.0 + i + 0.25 * j,
             ci_low=30.0 + i, ci_high=50.0 + j, pairs=100, wins=40, ties=10, losses=50)
        for i, row in enumerate(rows) for j, language in enumerate(languages)
    ]  # fmt: skip
    save_results(MatrixResults(recipe=recipe, cells=cells), tmp_path)
    lines = in_terminal([str(SXS), "plot", str(tmp_path / "matrix.json"), "--out", str(tmp_path)])
    values = [f"{cell.score:.1f} [{cell.ci_low:.0f}–{cell.ci_high:.0f}]" for cell in cells]
    assert_readable(lines, [*values, *rows, *languages])


def test_a_family_of_twelve_languages_reads_at_80_columns(tmp_path: Path) -> None:
    source = tmp_path / "set.jsonl"
    data = synthetic(300, MAIN)
    source.write_text("".join(r.model_dump_json() + "\n" for r in data.records), "utf-8")
    out = tmp_path / "mixtures"
    build = ["mixtures", "build", str(source), "--out", str(out), "--languages", ",".join(MAIN)]
    lines = in_terminal([str(SXS), *build, "--percent", "10", "--percent", "50"])
    assert sorted(path.name for path in out.iterdir()) == ["uniform-p10", "uniform-p50"]
    names = ["uniform-p10", "uniform-p50", *MAIN]
    assert_readable(lines, names)
    header = next(line for line in lines if "mixture" in line and "examples" in line)
    assert "…" not in header
