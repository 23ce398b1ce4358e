"""The built-in evaluator prompts ship in a regular (non-editable) install: the TypeScript
package forgets its prompts and then silently evaluates nothing."""

import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
PROMPTS = ("system", "user", "compare_system", "compare_user")


def test_a_non_editable_install_finds_the_evaluator_prompts(tmp_path):
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path / "source"
    shutil.copytree(
        PROJECT,
        source,
        ignore=shutil.ignore_patterns(".*", "build", "tests", "*.egg-info", "__pycache__", "debates"),
    )
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile"]
    install = subprocess.run(
        [*pip, "--target", str(site), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert install.returncode == 0, install.stderr
    probe = (
        "from importlib import resources\n"
        "import dialectic.prompts as p\n"
        "print(p.__file__)\n"
        f"for name in {PROMPTS!r}:\n"
        "    assert resources.files('dialectic.prompts').joinpath('eval', name + '.md').read_text().strip(), name\n"
        "    assert p.eval_template(name).strip(), name\n"
        "print('ok')\n"
    )
    # The fresh copy comes first on the path, ahead of this environment's editable install.
    done = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(site)!r})\n" + probe],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    location, verdict = done.stdout.split()
    assert location.startswith(str(site)) and verdict == "ok"
