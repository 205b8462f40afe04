"""Fixtures shared by every test module."""

import sys

import pytest


@pytest.fixture(autouse=True)
def restore_student_imports():
    """Undo what a test did to sys.path and to imported `exercises` modules.

    Assembling a poet in-process imports a student's workspace as the `exercises` package; left
    in sys.modules, it would stand in for the real stubs in every later test.
    """
    path_before = list(sys.path)
    modules_before = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "exercises"}
    yield
    sys.path[:] = path_before
    for name in [name for name in sys.modules if name.split(".")[0] == "exercises"]:
        if modules_before.get(name) is not sys.modules[name]:
            del sys.modules[name]
    sys.modules.update(modules_before)
