"""list_files and file_read: what they show, what they leave out, and where they stop."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dialectic.tools import ContextDirectory, ToolError, file_read, list_files
from dialectic.tools.files import MAX_LIST_ENTRIES, MAX_READ_BYTES
from dialectic.tools.text import MAX_FILE_BYTES

CANARY = "canary-0e6a9d3c71f24b58a4c2e9b7d5f80136"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "context"
    (root / "docs" / "deep").mkdir(parents=True)
    (root / "node_modules" / "pkg").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".gitignore").write_text("node_modules/\n*.tmp\n")
    (root / "docs" / ".gitignore").write_text("draft.md\n")
    (root / "README.md").write_text("# Project\n")
    (root / "setup.cfg").write_text("[metadata]\nname = x\n")
    (root / "scratch.tmp").write_text(CANARY)
    (root / ".env").write_text(CANARY)
    (root / "docs" / "guide.md").write_text("guide\n")
    (root / "docs" / "draft.md").write_text(CANARY)
    (root / "docs" / "deep" / "notes.md").write_text("deep\n")
    (root / "node_modules" / "pkg" / "index.js").write_text(CANARY)
    return root


def write_lines(path: Path, count: int, width: int) -> list[str]:
    """``count`` lines of exactly ``width`` bytes each (newline included), numbered."""
    lines = [f"{number:06d} ".ljust(width - 1, "x") + "\n" for number in range(1, count + 1)]
    path.write_text("".join(lines))
    return lines


def test_list_files_shows_one_folder_with_types_and_sizes(root: Path) -> None:
    listing = list_files(ContextDirectory(root), ".")
    assert listing == {
        "path": ".",
        "entries": [
            {"path": "README.md", "type": "file", "size": 10},
            {"path": "docs", "type": "directory"},
            {"path": "setup.cfg", "type": "file", "size": 20},
        ],
        "more": 0,
    }


def test_list_files_paths_are_relative_posix_paths_usable_by_file_read(root: Path) -> None:
    directory = ContextDirectory(root)
    listing = list_files(directory, "docs")
    assert [entry["path"] for entry in listing["entries"]] == ["docs/deep", "docs/guide.md"]
    assert file_read(directory, "docs/guide.md")["content"] == "guide\n"
    assert list_files(directory, "docs/deep")["entries"] == [
        {"path": "docs/deep/notes.md", "type": "file", "size": 5}
    ]
    assert list_files(directory, str(root / "docs"))["path"] == "docs"


def test_list_files_leaves_out_hidden_ignored_and_escaping_entries(root: Path, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (root / "docs" / "out-link").symlink_to(tmp_path / "outside", target_is_directory=True)
    (root / "docs" / "dangling").symlink_to(root / "missing")
    (root / "docs" / "guide-link.md").symlink_to(root / "docs" / "guide.md")
    listing = list_files(ContextDirectory(root), "docs")
    assert [entry["path"] for entry in listing["entries"]] == [
        "docs/deep",
        "docs/guide-link.md",
        "docs/guide.md",
    ]
    assert CANARY not in str(listing)


def test_list_files_caps_at_500_entries_and_counts_the_rest(root: Path) -> None:
    many = root / "many"
    many.mkdir()
    for number in range(612):
        (many / f"f{number:04d}.txt").write_text("x")
    (many / ".hidden").write_text("x")  # not counted
    listing = list_files(ContextDirectory(root), "many")
    assert len(listing["entries"]) == MAX_LIST_ENTRIES == 500
    assert listing["entries"][0]["path"] == "many/f0000.txt"
    assert listing["entries"][-1]["path"] == "many/f0499.txt"
    assert listing["more"] == 112
    assert "112 more" in listing["note"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("README.md", "is a file, not a folder"),
        ("nowhere", "there is no folder 'nowhere'"),
        ("node_modules", ".gitignore"),
        (".git", "hidden"),
    ],
)
def test_list_files_errors_tell_the_model_what_to_do(root: Path, path: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        list_files(ContextDirectory(root), path)


def test_file_read_returns_the_whole_small_file(root: Path) -> None:
    assert file_read(ContextDirectory(root), "setup.cfg") == {
        "path": "setup.cfg",
        "content": "[metadata]\nname = x\n",
        "startLine": 1,
        "endLine": 2,
        "totalLines": 2,
        "truncated": False,
    }


def test_file_read_reads_a_line_range(root: Path) -> None:
    lines = write_lines(root / "code.py", 10, 20)
    directory = ContextDirectory(root)
    part = file_read(directory, "code.py", start_line=3, end_line=5)
    assert part["content"] == "".join(lines[2:5])
    assert (part["startLine"], part["endLine"], part["totalLines"], part["truncated"]) == (3, 5, 10, False)
    tail = file_read(directory, "code.py", start_line=9, end_line=500)  # clamped to the end
    assert tail["content"] == "".join(lines[8:])
    assert tail["endLine"] == 10
    assert file_read(directory, "code.py", start_line=10)["content"] == lines[9]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (11, None, "start_line 11 is past the end: the file has 10 lines"),
        (0, None, "line numbers start at 1"),
        (1, 0, "line numbers start at 1"),
        (5, 4, r"end_line \(4\) is before start_line \(5\)"),
    ],
)
def test_file_read_rejects_impossible_ranges(root: Path, start: int, end: int | None, message: str) -> None:
    write_lines(root / "code.py", 10, 20)
    with pytest.raises(ToolError, match=message):
        file_read(ContextDirectory(root), "code.py", start_line=start, end_line=end)


def test_file_read_caps_content_at_64_kb_and_says_where_to_continue(root: Path) -> None:
    lines = write_lines(root / "big.txt", 2000, 100)
    directory = ContextDirectory(root)
    first = file_read(directory, "big.txt")
    shown = MAX_READ_BYTES // 100  # whole 100-byte lines that fit in 64 KB
    assert len(first["content"].encode()) <= MAX_READ_BYTES
    assert first["content"] == "".join(lines[:shown])
    assert (first["startLine"], first["endLine"], first["totalLines"], first["truncated"]) == (
        1,
        shown,
        2000,
        True,
    )
    assert f"lines 1-{shown} of 2000" in first["note"]
    assert f"start_line={shown + 1}" in first["note"]
    following = file_read(directory, "big.txt", start_line=shown + 1)
    assert following["content"].startswith(lines[shown])
    assert following["endLine"] == 2 * shown


def test_file_read_cuts_a_single_line_longer_than_the_cap(root: Path) -> None:
    (root / "min.js").write_text("a" * (MAX_READ_BYTES * 2) + "\nsecond\n")
    read = file_read(ContextDirectory(root), "min.js")
    assert read["content"] == "a" * MAX_READ_BYTES
    assert (read["endLine"], read["totalLines"], read["truncated"]) == (1, 2, True)
    assert "Line 1 alone is longer than 64 KB" in read["note"]
    assert "start_line=2" in read["note"]


def test_file_read_of_an_empty_file(root: Path) -> None:
    (root / "empty.txt").write_text("")
    read = file_read(ContextDirectory(root), "empty.txt")
    assert (read["content"], read["endLine"], read["totalLines"], read["truncated"]) == ("", 0, 0, False)


def test_file_read_drops_a_byte_order_mark_and_keeps_crlf(root: Path) -> None:
    (root / "win.txt").write_bytes("\ufeffone\r\ntwo\r\n".encode())
    read = file_read(ContextDirectory(root), "win.txt")
    assert read["content"] == "one\r\ntwo\r\n"
    assert read["totalLines"] == 2


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + CANARY.encode(),  # a NUL early on
        b"text " * 100 + b"\xff\xfe\xfa" + CANARY.encode(),  # not UTF-8
        CANARY.encode().join([b"caf\xe9 "] * 3),  # Latin-1
    ],
)
def test_file_read_refuses_binary_files(root: Path, data: bytes) -> None:
    (root / "blob.bin").write_bytes(data)
    with pytest.raises(ToolError, match="binary") as raised:
        file_read(ContextDirectory(root), "blob.bin")
    assert CANARY not in str(raised.value)


def test_file_read_refuses_files_over_5_mb(root: Path) -> None:
    (root / "huge.txt").write_bytes(b"y" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ToolError, match="over the 5 MB limit"):
        file_read(ContextDirectory(root), "huge.txt")
    (root / "exactly.txt").write_bytes(b"z" * (MAX_FILE_BYTES - 1) + b"\n")
    assert file_read(ContextDirectory(root), "exactly.txt")["truncated"] is True


def test_file_read_refuses_a_huge_file_without_reading_it(root: Path) -> None:
    # 16 GB, sparse: only the size is looked at, so this returns at once.
    with open(root / "sparse.txt", "wb") as handle:
        handle.truncate(16 * 1024**3)
    with pytest.raises(ToolError, match="over the 5 MB limit"):
        file_read(ContextDirectory(root), "sparse.txt")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_file_read_refuses_a_fifo_instead_of_blocking(root: Path) -> None:
    os.mkfifo(root / "pipe")
    with pytest.raises(ToolError, match="not a regular file"):
        file_read(ContextDirectory(root), "pipe")
    assert "pipe" not in str(list_files(ContextDirectory(root), "."))


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("docs", "is a folder, not a file"),
        ("missing.md", "there is no file 'missing.md'"),
        ("README.md/x", "there is no file 'README.md/x'"),
        ("docs/draft.md", ".gitignore"),
        ("node_modules/pkg/index.js", ".gitignore"),
        ("scratch.tmp", ".gitignore"),
        (".env", "hidden"),
    ],
)
def test_file_read_errors_tell_the_model_what_to_do(root: Path, path: str, message: str) -> None:
    with pytest.raises(ToolError, match=message) as raised:
        file_read(ContextDirectory(root), path)
    assert CANARY not in str(raised.value)
