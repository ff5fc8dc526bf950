import shutil

from gateway.storage import write_bytes, write_chunks


def test_a_file_written_where_folders_are_missing_makes_them_and_holds_its_content(tmp_path):
    """A write into folders that do not exist makes them (every level), and the file holds exactly what was written,
    with no temporary file left beside it."""
    target = tmp_path / "a" / "b" / "c.txt"
    write_chunks(target, ["é", b"\x00", "z"], end="\n")
    assert target.read_bytes() == "é".encode() + b"\x00z\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["c.txt"]


def test_a_folder_removed_between_two_writes_is_made_again(tmp_path):
    """A folder another step removed (a run's staging folder, cleaned between runs of one process) is made again by
    the next write into it: nothing is remembered of folders made before."""
    target = tmp_path / "staging" / "part" / "x.bin"
    write_bytes(target, b"first")
    shutil.rmtree(tmp_path / "staging")
    write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    write_bytes(target, b"third")                  # an existing file is replaced whole
    assert target.read_bytes() == b"third"
