"""Makes the shared builders of debate states in ``debate_states.py`` importable by the unit tests.

pytest runs in importlib mode, so a test module cannot import a sibling by name: the module is
loaded here from its path, once, and registered in ``sys.modules`` as ``debate_states`` before
the test modules are collected, so they can write ``from debate_states import make_settings, ...``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

STATES_PATH = Path(__file__).resolve().parent / "debate_states.py"
_MODULE_NAME = "debate_states"


def load_states_module() -> ModuleType:
    module = sys.modules.get(_MODULE_NAME)
    if module is None:
        spec = importlib.util.spec_from_file_location(_MODULE_NAME, STATES_PATH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[_MODULE_NAME] = module
        spec.loader.exec_module(module)
    return module


load_states_module()
