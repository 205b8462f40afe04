"""Exercises, checks and the comparison that explains a difference.

An exercise names one reference function and how to make inputs for it. Its checks are built
from that: type, shape and dtype; values on small inputs and on edge cases; gradients where the
piece is differentiable; properties that any correct answer has; and hidden values on larger
inputs. Every check states its tolerance.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

# Sizes of the random inputs: "edge" is the smallest legal input (B=1, T=1, empty text).
SIZES = ("small", "edge", "large")


@dataclass(frozen=True)
class Mistake:
    """A known wrong version of a reference function, and the hint its output earns."""

    function: Callable
    hint: str


@dataclass(frozen=True)
class Property:
    """A promise any correct answer keeps, checked on the student's outputs alone.

    `make_calls(generator)` returns a list of (args, kwargs); `holds(calls, outputs)` returns
    None when the property holds, or a sentence saying how it fails.
    """

    name: str
    make_calls: Callable
    holds: Callable


@dataclass(frozen=True)
class Exercise:
    """One stub in exercises/: its reference, input maker, checks and known mistakes."""

    id: str
    lesson: int
    title: str
    module: str
    reference: Callable
    make_inputs: Callable  # (generator, size) -> (args, kwargs)
    mistakes: tuple[Mistake, ...]
    grad_wrt: tuple[int, ...] = ()
    properties: tuple[Property, ...] = ()
    atol: float = 1e-5
    rtol: float = 1e-4
    kind: str = "call"

    @property
    def function(self) -> str:
        return self.reference.__name__

    @property
    def stub_path(self) -> str:
        return self.module.replace(".", "/") + ".py"


@dataclass(frozen=True)
class Check:
    """One scored check: which calls it makes and how their results are judged."""

    name: str
    points: int
    calls: list  # list of (args, kwargs)
    judge: str  # "structure", "values", "gradients" or "property"
    hidden: bool = False
    tolerance: str = ""
    prop: Property | None = None


@dataclass
class Mismatch:
    """Why an output differs from the expected one: kind ("type", "shape", "dtype", "nan", "values") and details."""

    kind: str
    message: str
    details: dict = field(default_factory=dict)


def compare(expected, actual, atol: float, rtol: float, values: bool = True, where: str = "output") -> Mismatch | None:
    """Compare an actual output with the expected one; return None when they agree.

    >>> compare([1, 2, 3], [1, 5, 3], 0, 0).message
    'output differs first at index 1: expected 2, got 5'
    """
    if isinstance(expected, Tensor):
        return _compare_tensors(expected, actual, atol, rtol, values, where)
    if isinstance(expected, bool) or not isinstance(expected, (int, float)) or isinstance(actual, bool):
        if type(actual) is not type(expected):
            return Mismatch("type", f"{where} should be a {type(expected).__name__}, got {type(actual).__name__}")
    elif not isinstance(actual, (int, float)) or (isinstance(expected, float) and not isinstance(actual, float)):
        return Mismatch("type", f"{where} should be a {type(expected).__name__}, got {type(actual).__name__}")

    if isinstance(expected, (list, tuple)):
        return _compare_sequences(expected, actual, atol, rtol, values, where)
    if isinstance(expected, dict):
        return _compare_dicts(expected, actual, atol, rtol, values, where)
    if not values:
        return None
    if isinstance(expected, float):
        if math.isnan(actual) or math.isinf(actual):
            return Mismatch("nan", f"{where} is {actual}")
        if abs(actual - expected) > atol + rtol * abs(expected):
            return Mismatch("values", f"{where} is {actual!r}, expected {expected!r} (error {abs(actual - expected):.3g}, tolerance {atol:g} + {rtol:g} x |expected|)")
        return None
    if actual != expected:
        return Mismatch("values", f"{where} is {_excerpt(actual)}, expected {_excerpt(expected)}")
    return None


def _compare_sequences(expected, actual, atol, rtol, values, where) -> Mismatch | None:
    if isinstance(expected, str):
        return None
    scalar_items = all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in expected)
    if scalar_items and values and len(expected) == len(actual):
        for index, (e, a) in enumerate(zip(expected, actual)):
            if compare(e, a, atol, rtol, values, where) is not None:
                return Mismatch("values", f"{where} differs first at index {index}: expected {e!r}, got {a!r}",
                                {"index": index})
    if len(actual) != len(expected):
        return Mismatch("shape", f"{where} has length {len(actual)}, expected {len(expected)}"
                        + (f"; expected starts {_excerpt(expected)}, got {_excerpt(actual)}" if values else ""))
    for index, (e, a) in enumerate(zip(expected, actual)):
        mismatch = compare(e, a, atol, rtol, values, f"{where}[{index}]")
        if mismatch:
            return mismatch
    return None


def _compare_dicts(expected, actual, atol, rtol, values, where) -> Mismatch | None:
    if not values:
        return None
    missing, extra = [k for k in expected if k not in actual], [k for k in actual if k not in expected]
    if missing or extra:
        return Mismatch("values", f"{where} is missing keys {_excerpt(missing)} and has extra keys {_excerpt(extra)}")
    if list(actual) != list(expected):
        return Mismatch("values", f"{where} has the right keys in the wrong order: expected {_excerpt(list(expected))}, got {_excerpt(list(actual))}")
    for key in expected:
        mismatch = compare(expected[key], actual[key], atol, rtol, values, f"{where}[{key!r}]")
        if mismatch:
            return mismatch
    return None


def _compare_tensors(expected: Tensor, actual, atol, rtol, values, where) -> Mismatch | None:
    if not isinstance(actual, Tensor):
        return Mismatch("type", f"{where} should be a tensor, got {type(actual).__name__}")
    if actual.shape != expected.shape:
        return Mismatch("shape", f"{where} has shape {tuple(actual.shape)}, expected {tuple(expected.shape)}")
    if actual.dtype != expected.dtype:
        return Mismatch("dtype", f"{where} has dtype {actual.dtype}, expected {expected.dtype}")
    if not values:
        return None
    if actual.is_floating_point():
        bad = ~torch.isfinite(actual) & torch.isfinite(expected)
        if bad.any():
            index = tuple(bad.nonzero()[0].tolist())
            return Mismatch("nan", f"{where} contains {actual[index].item()} at index {index}, expected {expected[index].item():.6g}",
                            {"index": index})
    close = torch.isclose(actual, expected, atol=atol, rtol=rtol, equal_nan=True) if actual.is_floating_point() else actual == expected
    if close.all():
        return None
    index = tuple((~close).nonzero()[0].tolist())
    error = (actual.double() - expected.double()).abs().nan_to_num(0).max().item()
    return Mismatch("values", (
        f"{where} differs from the expected values: max abs error {error:.3g} (tolerance {atol:g} + {rtol:g} x |expected|), "
        f"first at index {index}: expected {expected[index].item():.6g}, got {actual[index].item():.6g}; "
        f"expected starts {_excerpt(expected.flatten()[:4].tolist())}, got {_excerpt(actual.flatten()[:4].tolist())}"),
        {"max_abs_error": error, "index": index})


def _excerpt(value, limit: int = 6) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        items = ", ".join(_excerpt(item) for item in value[:limit])
        return f"[{items}{', ...' if len(value) > limit else ''}]"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def same_outcome(a, b, atol: float, rtol: float) -> bool:
    """Return whether two outcomes agree, NaN equal to NaN: the test for "this student made that mistake"."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.is_floating_point():
            return bool(torch.isclose(a, b, atol=atol, rtol=rtol, equal_nan=True).all())
        return bool((a == b).all())
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= atol + rtol * abs(b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_outcome(x, y, atol, rtol) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same_outcome(a[k], b[k], atol, rtol) for k in a)
    return type(a) is type(b) and a == b


def deviates_like(actual, expected, wrong, atol: float, rtol: float) -> tuple[bool, bool] | None:
    """Compare element by element where `actual` differs from `expected`: does it equal `wrong` there?

    Returns (agrees, deviates): `agrees` is True when every element of `actual` that differs from
    `expected` equals the same element of `wrong` (NaN equal to NaN), and `deviates` is True when
    any element differs at all. Returns None unless all three are tensors, or tuples of tensors,
    of one shape and dtype. This recognizes a known mistake that a student combined with a fix
    elsewhere: a softmax that overflows on a large score but gives zeros on a fully masked row.

    >>> expected, wrong = torch.tensor([1.0, 0.0]), torch.tensor([float("nan"), float("nan")])
    >>> deviates_like(torch.tensor([float("nan"), 0.0]), expected, wrong, 1e-6, 1e-6)
    (True, True)
    """
    parts = [_tensor_parts(value) for value in (actual, expected, wrong)]
    if any(part is None for part in parts) or len({len(part) for part in parts}) != 1:
        return None
    triples = list(zip(*parts))
    if any(len({(t.shape, t.dtype) for t in triple}) != 1 for triple in triples):
        return None

    agrees, deviates = True, False
    for a, e, w in triples:
        off = ~_close(a, e, atol, rtol)
        deviates = deviates or bool(off.any())
        agrees = agrees and bool(_close(a, w, atol, rtol)[off].all())
    return agrees, deviates


def _tensor_parts(value) -> list[Tensor] | None:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)) and value and all(isinstance(item, Tensor) for item in value):
        return list(value)
    return None


def _close(a: Tensor, b: Tensor, atol: float, rtol: float) -> Tensor:
    if a.is_floating_point():
        return torch.isclose(a, b, atol=atol, rtol=rtol, equal_nan=True)
    return a == b
