"""NUL and other control characters in a note: every text command fails with the character's position, no traceback."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from medlens.cli.app import app

runner = CliRunner()


@pytest.mark.parametrize("command", ["summarize", "diagnose", "analyze"])
@pytest.mark.parametrize("text,expected", [("Fever\x00 and cough.\n", "character 6 (line 1, column 6) is U+0000 (NUL)"),
                                           ("Cough.\nFever \x1b[1m.\n", "character 14 (line 2, column 7) is U+001B")])
def test_control_character_in_a_note_file_fails_clearly(command, text, expected, tiny_kg_path: Path, tmp_path: Path):
    note = tmp_path / "note.txt"
    note.write_text(text, encoding="utf-8")
    args = [command, str(note), "--kg", str(tiny_kg_path)] + (["-f", "json"] if command == "analyze" else [])
    result = runner.invoke(app, args)
    out = result.output
    if "\x00" in text and command == "analyze":  # a file with NUL bytes is reported as binary by the batch reader
        assert "looks binary" in out
    else:
        assert expected in out, out
    assert "Traceback" not in out and not isinstance(result.exception, (UnicodeError, RuntimeError))
