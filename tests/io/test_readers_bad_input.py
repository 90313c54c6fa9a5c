from pathlib import Path

import pytest

from medlens.errors import InputError
from medlens.io.readers import decode, discover, iter_inputs


def test_readers_decode_reports_empty_binary_and_bad_encoding():
    with pytest.raises(InputError, match="empty"):
        decode(b"  \n\t ", "a.txt")
    with pytest.raises(InputError, match="looks binary"):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00", "img.txt")
    with pytest.raises(InputError, match=r"not valid UTF-8 \(first bad byte at offset 5\)"):
        decode(b"fever\xe9 cough", "latin1.txt")
    with pytest.raises(InputError, match="limit is 10"):
        decode(b"x" * 11, "big.txt", max_chars=10)
    assert decode("\ufeffDenies fever".encode(), "bom.txt") == "Denies fever"


def test_readers_discover_folder_recursively_in_order(tmp_path: Path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.txt").write_text("cough")
    (tmp_path / "1.txt").write_text("fever")
    (tmp_path / "skip.pdf").write_bytes(b"%PDF")
    assert [i for i, _ in discover(tmp_path)] == ["1.txt", "b/2.txt"]


def test_readers_missing_path_and_empty_folder(tmp_path: Path):
    with pytest.raises(InputError, match="no such file"):
        list(iter_inputs(tmp_path / "nope"))
    with pytest.raises(InputError, match="holds no readable files"):
        list(iter_inputs(tmp_path))


def test_readers_bad_file_does_not_stop_the_others(tmp_path: Path):
    (tmp_path / "a.txt").write_text("fever")
    (tmp_path / "b.txt").write_bytes(b"\xff\xfe\x00b\x00a\x00d")
    (tmp_path / "c.txt").write_text("")
    docs = list(iter_inputs(tmp_path))
    assert [(d.id, d.text is not None) for d in docs] == [("a.txt", True), ("b.txt", False), ("c.txt", False)]
    assert "binary" in docs[1].error and "empty" in docs[2].error


def test_readers_refuse_control_characters_with_line_and_column():
    with pytest.raises(InputError, match=r"note.txt: character 10 \(line 2, column 3\) is U\+0007"):
        decode(b"Fever.\nab\x07c", "note.txt")
    with pytest.raises(InputError, match=r"U\+001B"):
        decode(b"\x1b[1mFever\x1b[0m", "ansi.txt")
    text = "Fever.\r\n\x0cPage 2\x0b\tcough."  # CR, LF, FF, VT and tab are text
    assert decode(text.encode(), "ok.txt") == text


def test_analyze_one_reports_an_unpaired_surrogate_clearly(nlp):
    from medlens.batch import analyze_one
    from medlens.io.readers import InputDocument

    result = analyze_one(nlp, InputDocument("d1", "Fever \ud800 and cough."))
    assert result.error.type == "InputError"
    assert "d1: character 7" in result.error.message and "unpaired surrogate" in result.error.message
