"""Every worked example in a reference docstring runs and gives the printed result."""

import doctest
import importlib
import pkgutil

import pytest

import reference

MODULES = sorted(name for _, name, _ in pkgutil.iter_modules(reference.__path__) if name != "__main__")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name):
    module = importlib.import_module(f"reference.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
