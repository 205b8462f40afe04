"""The exercise stubs stay in step with the reference they ask students to rebuild."""

import importlib
import inspect

import pytest

from grader.catalog import EXERCISES


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_stub_signature_matches_reference(exercise):
    stub = getattr(importlib.import_module(exercise.module), exercise.function)
    stub_parameters = inspect.signature(stub).parameters.values()
    reference_parameters = inspect.signature(exercise.reference).parameters.values()
    # Names, kinds and defaults; annotations are strings in the stubs (postponed evaluation).
    assert [(p.name, p.kind, p.default) for p in stub_parameters] == \
        [(p.name, p.kind, p.default) for p in reference_parameters]


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_stub_raises_not_implemented(exercise):
    stub = getattr(importlib.import_module(exercise.module), exercise.function)
    arguments = [None] * len(inspect.signature(stub).parameters)
    with pytest.raises(NotImplementedError):
        stub(*arguments)


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_stub_docstring_names_lesson(exercise):
    stub = getattr(importlib.import_module(exercise.module), exercise.function)
    assert f"Lesson {exercise.lesson}" in stub.__doc__


def test_exercises_have_three_hints():
    assert all(len(exercise.mistakes) >= 3 for exercise in EXERCISES)
