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


def test_softmax_stub_states_masked_row_rule():
    import torch

    from exercises.lesson04_attention import softmax as stub
    from reference.attention import softmax as reference_softmax

    # The check compares against the reference, which turns a fully masked row into zeros where
    # torch.softmax gives NaN, so the stub, the only spec a student may read, has to state the rule.
    masked_row = torch.full((1, 3), float("-inf"))
    assert torch.equal(reference_softmax(masked_row), torch.zeros(1, 3))
    assert torch.isnan(torch.softmax(masked_row, dim=-1)).all()
    assert "entirely -inf" in stub.__doc__
    assert "all zeros" in stub.__doc__
