"""The context directory's confinement: what a model-given path may reach, and what it may not."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dialectic.errors import InputError
from dialectic.tools import ContextDirectory, ToolError, build_tools, file_read, list_files
from dialectic.tools.registry import TOOL_NAMES, ToolContext

CANARY = "canary-5b1e0c9f4d2a4e7b8c3d6f1a2b9e0d47"


@pytest.fixture
def context(tmp_path: Path) -> Path:
    """A context folder with the canary everywhere a tool must not reach: outside the folder,
    behind links, in hidden files and in ignored ones."""
    root = tmp_path / "context"
    outside = tmp_path / "outside"
    (root / "src" / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "canary.txt").write_text(CANARY)
    (outside / "README.md").write_text(CANARY)
    (tmp_path / "notes.txt").write_text(CANARY)  # in the working directory, beside the root
    (root / "README.md").write_text("inside readme\n")
    (root / "src" / "main.py").write_text("print('hello')\n")
    (root / ".env").write_text(f"TOKEN={CANARY}\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text(f"[remote]\n\turl = {CANARY}\n")
    (root / ".ssh").mkdir()
    (root / ".ssh" / "id_rsa").write_text(CANARY)
    (root / "file-link.txt").symlink_to(outside / "canary.txt")
    (root / "folder-link").symlink_to(outside, target_is_directory=True)
    (root / "env-link").symlink_to(root / ".env")
    (root / "readme-link.md").symlink_to(root / "README.md")
    return root


def refusal(directory: ContextDirectory, path: str) -> str:
    with pytest.raises(ToolError) as raised:
        directory.resolve(path)
    message = str(raised.value)
    assert CANARY not in message
    return message


def test_relative_paths_resolve_against_the_root_not_the_working_directory(context: Path) -> None:
    directory = ContextDirectory(context)
    assert Path.cwd() != context
    assert directory.resolve("README.md").real == context / "README.md"
    assert directory.resolve("src/../README.md").shown == "README.md"
    assert directory.resolve(".").real == context
    assert directory.resolve(".").shown == "."
    # notes.txt exists in the working directory only: inside the root it is simply absent.
    with pytest.raises(ToolError, match=r"there is no file 'notes\.txt'"):
        file_read(directory, "notes.txt")


@pytest.mark.parametrize(
    "path",
    ["../outside/canary.txt", "src/../../outside/canary.txt", "../../../../../../etc/passwd", "..", "/"],
)
def test_traversal_out_of_the_root_is_refused(context: Path, path: str) -> None:
    assert "outside the context directory" in refusal(ContextDirectory(context), path)


def test_an_absolute_path_is_accepted_only_inside_the_root(context: Path) -> None:
    directory = ContextDirectory(context)
    inside = directory.resolve(str(context / "src" / "main.py"))
    assert inside.shown == "src/main.py"
    assert inside.real == context / "src" / "main.py"
    assert "outside" in refusal(directory, str(context.parent / "outside" / "canary.txt"))


def test_the_refusal_does_not_say_whether_an_outside_path_exists(context: Path) -> None:
    directory = ContextDirectory(context)
    existing = refusal(directory, "../outside/canary.txt")
    missing = refusal(directory, "../outside/no-such-file.txt")
    assert existing.replace("canary.txt", "X") == missing.replace("no-such-file.txt", "X")
    linked = refusal(directory, "folder-link/canary.txt")
    linked_missing = refusal(directory, "folder-link/no-such-file.txt")
    assert linked.replace("canary.txt", "X") == linked_missing.replace("no-such-file.txt", "X")


def test_links_are_resolved_before_the_containment_check(context: Path) -> None:
    directory = ContextDirectory(context)
    assert "outside" in refusal(directory, "file-link.txt")
    assert "outside" in refusal(directory, "folder-link")
    assert "outside" in refusal(directory, "folder-link/canary.txt")
    # A link that stays inside is fine, and keeps the name the model used.
    inside = directory.resolve("readme-link.md")
    assert inside.real == context / "README.md"
    assert inside.shown == "readme-link.md"


def test_dot_dot_is_not_applied_after_following_a_link(context: Path) -> None:
    # POSIX would read outside/README.md here; the sandbox normalises the text first.
    read = file_read(ContextDirectory(context), "folder-link/../README.md")
    assert read["content"] == "inside readme\n"


@pytest.mark.parametrize(
    "path", [".env", ".git/config", ".git", ".ssh/id_rsa", "src/.cache/x", "env-link", "./.env"]
)
def test_hidden_files_and_folders_and_links_to_them_are_refused(context: Path, path: str) -> None:
    assert "hidden" in refusal(ContextDirectory(context), path)


def test_an_absolute_path_to_a_hidden_file_is_refused(context: Path) -> None:
    assert "hidden" in refusal(ContextDirectory(context), str(context / ".env"))


def test_the_root_itself_may_live_under_a_hidden_folder(tmp_path: Path) -> None:
    root = tmp_path / ".workspaces" / "project"
    root.mkdir(parents=True)
    (root / "a.txt").write_text("ok\n")
    directory = ContextDirectory(root)
    assert file_read(directory, "a.txt")["content"] == "ok\n"
    assert file_read(directory, str(root / "a.txt"))["content"] == "ok\n"


@pytest.fixture
def ignoring(tmp_path: Path) -> ContextDirectory:
    root = tmp_path / "repo"
    for folder in ("src/sub", "build", "logs", ".git/info"):
        (root / folder).mkdir(parents=True)
    (root / ".gitignore").write_text("*.log\nbuild/\nsecrets.txt\n")
    (root / "src" / ".gitignore").write_text("generated.py\n!keep.log\n/top-only.txt\n")
    (root / "build" / ".gitignore").write_text("!out.txt\n")  # cannot re-include: build/ is ignored
    (root / ".git" / "info" / "exclude").write_text("scratch.md\n")
    for name in (
        "app.log",
        "secrets.txt",
        "generated.py",
        "build/out.txt",
        "logs/today.log",
        "src/generated.py",
        "src/keep.log",
        "src/other.log",
        "src/top-only.txt",
        "src/sub/top-only.txt",
        "src/sub/generated.py",
        "scratch.md",
        "src/scratch.md",
    ):
        (root / name).write_text(f"{name} {CANARY}\n")
    return ContextDirectory(root)


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        ("app.log", True),  # root pattern
        ("secrets.txt", True),
        ("build", True),  # an ignored folder…
        ("build/out.txt", True),  # …hides everything below, whatever a deeper file says
        ("logs/today.log", True),  # a root pattern without "/" matches at any depth
        ("generated.py", False),  # a nested .gitignore applies only below its folder
        ("src/generated.py", True),
        ("src/sub/generated.py", True),
        ("src/keep.log", False),  # the deeper file's "!keep.log" overrides the root's "*.log"
        ("src/other.log", True),
        ("src/top-only.txt", True),  # "/top-only.txt" is anchored to src/
        ("src/sub/top-only.txt", False),
        ("scratch.md", True),  # .git/info/exclude
        ("src/scratch.md", True),
    ],
)
def test_gitignored_paths_are_refused_with_gits_semantics(
    ignoring: ContextDirectory, path: str, ignored: bool
) -> None:
    if ignored:
        assert ".gitignore" in refusal(ignoring, path)
    else:
        assert ignoring.resolve(path).shown == path


def test_a_link_to_an_ignored_file_is_refused(ignoring: ContextDirectory) -> None:
    (ignoring.root / "alias.txt").symlink_to(ignoring.root / "secrets.txt")
    assert ".gitignore" in refusal(ignoring, "alias.txt")


def test_a_symlinked_gitignore_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "patterns").write_text("*.txt\n")
    (root / ".gitignore").symlink_to(tmp_path / "patterns")
    (root / "a.txt").write_text("ok\n")
    assert ContextDirectory(root).resolve("a.txt").shown == "a.txt"


@pytest.mark.parametrize("path", ["", "   ", "a\x00b", "x" * 5000])
def test_unusable_paths_are_refused_with_a_message(context: Path, path: str) -> None:
    assert refusal(ContextDirectory(context), path)


def test_the_context_folder_must_exist_and_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such folder"):
        ContextDirectory(tmp_path / "missing")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        ContextDirectory(tmp_path / "file.txt")


def test_the_canary_never_reaches_a_tool_result(context: Path) -> None:
    (context / ".gitignore").write_text("ignored.txt\n")
    (context / "ignored.txt").write_text(CANARY)
    tools = {
        tool.name: tool for tool in build_tools(TOOL_NAMES, ToolContext(directory=ContextDirectory(context)))
    }
    outside = context.parent / "outside"
    paths = [
        ".",
        "..",
        "../outside",
        "../outside/canary.txt",
        str(outside),
        str(outside / "canary.txt"),
        "file-link.txt",
        "folder-link",
        "folder-link/canary.txt",
        "folder-link/../README.md",
        ".env",
        "env-link",
        ".git",
        ".git/config",
        ".ssh/id_rsa",
        "ignored.txt",
        "../notes.txt",
        "notes.txt",
        os.path.relpath(outside / "canary.txt", context),
    ]
    results = [tools["list_files"].invoke({"path": path}) for path in paths]
    results += [tools["file_read"].invoke({"path": path}) for path in paths]
    for term in (CANARY, "canary", "TOKEN", "remote"):
        found = json.loads(tools["context_search"].invoke({"term": term}))["result"]
        assert found["fileMatches"] == []
        results.append(json.dumps(found["fileMatches"]))
    for result in results:
        assert CANARY not in result
    listing = list_files(ContextDirectory(context), ".")
    assert [entry["path"] for entry in listing["entries"]] == ["README.md", "readme-link.md", "src"]
