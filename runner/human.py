"""Human input for a paused debate: answers to the agents' clarifying questions and steering
notes between rounds, from the command line (``--answers``, ``--note``, ``--note-file``) or typed
on a terminal. ``HumanInput`` is the ``respond`` callback of ``start_debate``/``resume_debate``:
it answers a pause, or returns None to leave the debate paused (exit 5).

Input given on the command line answers the first pause of its kind that this process meets;
later pauses are answered on a terminal, or from lines piped to standard input (one line per
question, in the order shown; as the TypeScript tool reads them), or else leave the debate paused
again.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dialectic.debate.clarifications import PendingQuestion
from dialectic.debate.pauses import ClarificationPause, Pause, SteeringPause
from dialectic.errors import InputError
from dialectic.report.inert import terminal_line, terminal_safe

if TYPE_CHECKING:
    from rich.console import Console

_EXAMPLE = '{"q1": "your answer", "q2": "another answer"}'


def on_a_terminal() -> bool:
    """Questions are asked on stderr and answered on stdin: both must be a terminal."""
    return sys.stdin.isatty() and sys.stderr.isatty()


class PipedLines:
    """Lines of a standard input that is not a terminal (a pipe or a file), read as questions
    come. ``None`` once it has nothing: at its end, or when a pipe someone holds open stays
    silent for ``wait`` seconds (so an unused pipe never blocks the pause)."""

    def __init__(self, fd: int, wait: float = 2.0) -> None:
        self.fd = fd
        self.wait = wait
        self.buffer = b""
        self.ended = False

    def next_line(self) -> str | None:
        while b"\n" not in self.buffer and not self.ended:
            if not self._readable():
                return None
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                chunk = b""
            self.buffer += chunk
            self.ended = not chunk
        if not self.buffer:
            return None
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("utf-8", "replace").strip()

    def _readable(self) -> bool:
        try:
            ready, _, _ = select.select([self.fd], [], [], self.wait)
        except (OSError, ValueError):  # no select() on this kind of file (Windows): just read
            return True
        return bool(ready)


def piped_stdin() -> PipedLines | None:
    """Standard input as piped answers, unless it is a terminal (typed answers) or absent."""
    stdin = sys.stdin
    try:
        if stdin is None or stdin.isatty():
            return None
        return PipedLines(stdin.fileno())
    except (OSError, ValueError):  # closed, or no real file behind it
        return None


def read_answers(path: str) -> dict[str, str]:
    """An answers file: a JSON object mapping question ids to answer strings."""
    file = Path(path)
    shown = file.resolve()
    if not file.is_file():
        raise InputError(f"answers file not found: {shown}")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"answers file {shown} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"answers file {shown} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            f"write an object like {_EXAMPLE}"
        ) from None
    if not isinstance(data, dict):
        raise InputError(
            f"answers file {shown} holds {_json_type(data)}; it must be an object of question ids "
            f"to answers, like {_EXAMPLE}"
        )
    for key, value in data.items():
        if not isinstance(value, str):
            raise InputError(
                f"answers file {shown}: the answer to {key!r} is {_json_type(value)}; answers must be "
                'strings ("" or a missing id means NA)'
            )
    return dict(data)


def read_note(note: str | None, note_file: str | None) -> str | None:
    if note is not None and note_file is not None:
        raise InputError("give the steering note either with --note or with --note-file, not both")
    if note_file is None:
        return note
    file = Path(note_file)
    if not file.is_file():
        raise InputError(f"note file not found: {file.resolve()}")
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"note file {file.resolve()} is not UTF-8 text") from None


def _json_type(value: object) -> str:
    if value is None or isinstance(value, bool):
        return f"JSON {json.dumps(value)}"
    names = {list: "list", str: "string", int: "number", float: "number"}
    return f"a JSON {names.get(type(value), 'object')}"


class _Stopped(Exception):
    """The user ended the input (Ctrl-D or Ctrl-C at a prompt): leave the debate paused."""


class HumanInput:
    """Answers pauses from the command line's inputs and, on a terminal, from the user.

    A steering pause the user resumed needs no note (``dialectic resume ID`` alone continues).
    ``suspend`` hides live progress while the user types.
    """

    def __init__(
        self,
        console: Console,
        *,
        interactive: bool,
        answers: Mapping[str, str] | None = None,
        note: str | None = None,
        suspend: Callable[[], AbstractContextManager[None]] | None = None,
        piped: PipedLines | None = None,
    ) -> None:
        self.console = console
        self.interactive = interactive
        self.piped = piped
        self.answers = dict(answers) if answers is not None else None
        self.note = note
        self.suspend = suspend or _nothing
        self.used: set[type[Pause]] = set()

    def __call__(self, pending: list[Pause], resumed: bool = False) -> dict[str, Any] | None:
        given: dict[str, Any] = {}
        try:
            for pause in pending:
                if isinstance(pause, ClarificationPause):
                    value: Any = self._answers(pause)
                elif isinstance(pause, SteeringPause):
                    value = self._note(pause, resumed)
                else:
                    return None  # not a pause a person answers here (a budget, …)
                if value is None:
                    return None
                given[pause.kind] = value
        except _Stopped:
            self.console.print()
            return None
        return given

    def unused(self) -> list[str]:
        """Warnings for command-line input that no pause asked for."""
        notes = []
        if self.answers is not None and ClarificationPause not in self.used:
            notes.append("--answers was not used: the debate did not wait for clarification answers")
        if self.note is not None and SteeringPause not in self.used:
            notes.append("the steering note was not used: the debate did not wait for a note")
        return notes

    def _answers(self, pause: ClarificationPause) -> dict[str, str] | None:
        known: dict[str, str] = {}
        if self.answers is not None and ClarificationPause not in self.used:
            self.used.add(ClarificationPause)
            if not self.interactive:
                return self.answers  # the node warns about missing and unknown ids
            known = self.answers
        if not self.interactive:
            return self._piped_answers(pause) if self.piped is not None else None
        answers = dict(known)  # the file's answers first (the node warns about ids nobody asked)
        todo = [q for q in pause.questions if q.id not in answers]
        if todo:
            with self.suspend():
                answers.update(self._ask(pause, todo))
        return answers

    def _piped_answers(self, pause: ClarificationPause) -> dict[str, str] | None:
        """One piped line per question, in the order shown; an empty line is NA. Nothing piped
        leaves the debate paused; too few lines answer the rest NA, with a warning."""
        assert self.piped is not None
        lines: list[str] = []
        while len(lines) < len(pause.questions) and (line := self.piped.next_line()) is not None:
            lines.append(line)
        if not lines:
            return None
        answers = dict.fromkeys((q.id for q in pause.questions), "")  # "" is NA
        answers.update(zip((q.id for q in pause.questions), lines, strict=False))
        with self.suspend():
            self._say(f"\nAnswering the agents' questions from standard input (batch {pause.iteration}):")
            for header, question in by_agent(pause.questions):
                if header:
                    self._say(f"\n{header}")
                self._say(f"  {question.id}: {question.question}\n  answer: {answers[question.id] or 'NA'}")
            if len(lines) < len(pause.questions):
                missing = ", ".join(q.id for q in pause.questions[len(lines) :])
                self._warn(
                    f"standard input had {len(lines)} answer line(s) for {len(pause.questions)} "
                    f"question(s); {missing} answered NA"
                )
        return answers

    def _ask(self, pause: ClarificationPause, questions: list[PendingQuestion]) -> dict[str, str]:
        batch = pause.iteration
        which = f" (follow-up batch {batch} of at most {pause.maxIterations})" if batch > 1 else ""
        self._say(
            f"\nThe agents have {len(questions)} question(s) before the debate starts{which}. "
            "Type an answer and press Enter; Enter alone answers NA."
        )
        answers: dict[str, str] = {}
        for header, question in by_agent(questions):
            if header:
                self._say(f"\n{header}")
            self._say(f"  {question.id}: {question.question}")
            answers[question.id] = self._read("  answer> ")
        return answers

    def _note(self, pause: SteeringPause, resumed: bool) -> dict[str, str] | None:
        if self.note is not None and SteeringPause not in self.used:
            self.used.add(SteeringPause)
            return {"note": self.note}
        if self.interactive:
            round_number = pause.round
            with self.suspend():
                self._say(
                    f"\nRound {round_number} of {pause.rounds} is done. Add a note for the agents "
                    f"and the judge (they see it from round {round_number + 1} on), or press Enter to continue."
                )
                return {"note": self._read("note> ")}
        return {"note": ""} if resumed else None

    def _say(self, text: str) -> None:
        self.console.print(terminal_safe(text), markup=False, highlight=False)  # the agents' questions

    def _warn(self, text: str) -> None:
        self.console.print(terminal_line(f"warning: {text}"), highlight=False)

    def _read(self, prompt: str) -> str:
        # At a prompt, Ctrl-C means "leave it paused", not "stop after the step in flight".
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            return self.console.input(prompt, markup=False).strip()
        except (EOFError, KeyboardInterrupt):
            raise _Stopped from None
        finally:
            signal.signal(signal.SIGINT, previous)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def answerer(
    console: Console, *, answers: Mapping[str, str] | None = None, note: str | None = None
) -> Callable[[Callable[[], AbstractContextManager[None]]], HumanInput]:
    """How the CLI's commands answer pauses: the terminal if there is one, else ``answers``
    (--answers), else lines piped to standard input; ``suspend`` hides the live progress."""
    return lambda suspend: HumanInput(
        console, interactive=on_a_terminal(), answers=answers, note=note, suspend=suspend, piped=piped_stdin()
    )


def pause_lines(pending: Sequence[Pause]) -> list[str]:
    """What a paused debate waits for, for stderr: the questions grouped by agent."""
    lines = []
    for pause in pending:
        if not isinstance(pause, ClarificationPause):
            continue
        lines.append(f"clarifying questions (batch {pause.iteration}):")
        for header, question in by_agent(pause.questions):
            if header:
                lines.append(f"  {header}")
            lines.append(f"    {question.id}: {question.question}")
    return lines


def by_agent(questions: Sequence[PendingQuestion]) -> Iterator[tuple[str | None, PendingQuestion]]:
    """The questions in order, each with the heading of its agent where a new agent's begin."""
    agent = None
    for question in questions:
        header = None
        if question.agentId != agent:
            agent = question.agentId
            header = f"{question.agentName} ({question.role}, {agent})"
        yield header, question
