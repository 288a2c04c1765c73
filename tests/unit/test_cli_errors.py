"""`alaya` turns every failure into one line on stderr and a distinct exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import cli


def test_a_bug_is_one_line_with_the_traceback_in_a_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(cli.AppContext, "load", broken)
    code = cli.main(["-w", str(tmp_path), "projects"])
    err = capsys.readouterr().err
    assert code == cli.INTERNAL_ERROR
    assert err.count("\n") == 1 and "RuntimeError: kaboom" in err and "Traceback" not in err
    log = Path(err.split("details in ")[1].rstrip(")\n"))
    assert "Traceback" in log.read_text()


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["tasks"]) == 2  # --project is required
    assert "--project" in capsys.readouterr().err


def test_projects_create_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = str(tmp_path / "ws")
    assert cli.main(["-w", ws, "projects", "create", "birds", "--copy-mode", "reference"]) == 0
    assert cli.main(["-w", ws, "projects", "create", "birds"]) == 4  # ConflictError
    assert "already exists" in capsys.readouterr().err
    assert cli.main(["-w", ws, "projects", "--json"]) == 0
    assert '"copy_mode": "reference"' in capsys.readouterr().out
