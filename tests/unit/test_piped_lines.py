"""Standard input as piped answers: lines as they come, None once it has nothing."""

from __future__ import annotations

import os

from dialectic.runner.human import PipedLines


def pipe_with(data: bytes, *, close: bool) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    if close:
        os.close(write_end)
        write_end = -1
    return read_end, write_end


def test_lines_in_order_then_none_at_the_end() -> None:
    read_end, _ = pipe_with(b"first\n\n  third  \r\nlast without newline", close=True)
    lines = PipedLines(read_end)
    assert [lines.next_line() for _ in range(5)] == ["first", "", "third", "last without newline", None]
    os.close(read_end)


def test_an_empty_input_has_nothing() -> None:
    read_end, _ = pipe_with(b"", close=True)
    assert PipedLines(read_end).next_line() is None
    os.close(read_end)


def test_a_silent_open_pipe_does_not_block() -> None:
    read_end, write_end = pipe_with(b"one\n", close=False)
    lines = PipedLines(read_end, wait=0.05)
    assert lines.next_line() == "one"
    assert lines.next_line() is None  # nothing more within the wait: the caller pauses
    os.write(write_end, b"zwei\n")
    assert lines.next_line() == "zwei"  # a later line still arrives
    os.close(write_end)
    os.close(read_end)


def test_utf8_split_across_reads_is_kept_whole() -> None:
    read_end, write_end = pipe_with("réponse".encode()[:2], close=False)
    lines = PipedLines(read_end, wait=5)
    os.write(write_end, "réponse".encode()[2:] + b"\n")
    os.close(write_end)
    assert lines.next_line() == "réponse"
    os.close(read_end)
