"""medlens.io.files: the folder flush that the atomic writers (batch partitions, grown graph) share."""

from pathlib import Path

from medlens.io.files import fsync_dir


def test_fsync_dir_flushes_a_folder_and_tolerates_one_it_cannot_open(tmp_path: Path) -> None:
    (tmp_path / "part-0.parquet").write_bytes(b"x")
    fsync_dir(tmp_path)  # a real folder: no error
    fsync_dir(tmp_path / "missing")  # best effort: nothing to flush, no error
    assert (tmp_path / "part-0.parquet").read_bytes() == b"x"
