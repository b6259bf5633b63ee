"""Every command says what it does, every option and argument what it takes, and the README
documents every command."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer

from common.paths import PROJECT_ROOT
from service.cli import app


def commands(group: Any, path: str = "sxs") -> Iterator[tuple[str, Any]]:
    """(its path, the command) for every command under `group` (typer's click commands),
    groups themselves included."""
    yield path, group
    for name, command in getattr(group, "commands", {}).items():
        yield from commands(command, f"{path} {name}")


def undocumented() -> list[str]:
    missing = []
    for path, command in commands(typer.main.get_command(app)):
        if not (command.help or "").strip():
            missing.append(f"{path}: no help")
        for parameter in command.params:
            if parameter.name == "help":
                continue
            if not (getattr(parameter, "help", None) or "").strip():
                missing.append(f"{path} {parameter.opts[0]}: no help")
    return missing


def test_every_command_and_option_has_help() -> None:
    assert undocumented() == []


def test_the_readme_shows_every_command() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text("utf-8")
    leaves = [
        path
        for path, command in commands(typer.main.get_command(app))
        if not hasattr(command, "commands")
    ]
    assert len(leaves) >= 13
    assert [path for path in leaves if path not in readme] == []
