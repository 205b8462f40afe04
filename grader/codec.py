"""A safe wire format for values that cross between the grader and a student's process.

Values become JSON. A tensor becomes its dtype, shape and raw bytes (base64), and tuples and
dicts with non-string keys are tagged, so nothing is ever unpickled: decoding a message from
untrusted code can only produce None, bool, int, float, str, list, tuple, dict or a tensor.

>>> decode(encode({(1, 2): 3, "x": (1.5, None)}))
{(1, 2): 3, 'x': (1.5, None)}
"""

import base64
import json
import math

import torch

# Only plain numeric dtypes travel; anything else is rejected on receipt.
DTYPES = {
    str(dtype).removeprefix("torch."): dtype
    for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int8,
                  torch.uint8, torch.int16, torch.int32, torch.int64, torch.bool)
}

# Bounds on what a message from a student's process may contain, so a hostile reply cannot
# make the grader allocate without limit.
MAX_TENSOR_ELEMENTS = 1 << 24
MAX_DEPTH = 32


class CodecError(ValueError):
    """A value that cannot be encoded, or a message that is not a valid encoding."""


def encode(value) -> str:
    """Encode `value` as a JSON string; raise CodecError for a type that cannot travel."""
    return json.dumps(_to_json(value, 0), allow_nan=True)


def decode(message: str):
    """Decode a JSON string made by `encode`, checking every type and size on the way."""
    try:
        tree = json.loads(message)
    except (json.JSONDecodeError, RecursionError) as error:
        raise CodecError(f"the message is not valid JSON: {error}") from None
    return _from_json(tree, 0)


def _to_json(value, depth: int):
    if depth > MAX_DEPTH:
        raise CodecError(f"value is nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        # JSON has no NaN or infinity, so non-finite floats are tagged.
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, torch.Tensor):
        return _tensor_to_json(value)
    if isinstance(value, (list, tuple)):
        items = [_to_json(item, depth + 1) for item in value]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, dict):
        return {"__dict__": [[_to_json(k, depth + 1), _to_json(v, depth + 1)] for k, v in value.items()]}
    raise CodecError(
        f"a value of type {type(value).__name__} cannot be sent; return tensors, numbers, "
        f"strings, lists, tuples or dicts"
    )


def _tensor_to_json(tensor: torch.Tensor) -> dict:
    tensor = tensor.detach().cpu().contiguous()
    dtype = str(tensor.dtype).removeprefix("torch.")
    if dtype not in DTYPES:
        raise CodecError(f"tensors of dtype {tensor.dtype} cannot be sent; use float32 or int64")
    # A byte view works for every dtype, bfloat16 included, which numpy cannot represent.
    raw = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
    return {"__tensor__": {"dtype": dtype, "shape": list(tensor.shape), "data": base64.b64encode(raw).decode()}}


def _from_json(tree, depth: int):
    if depth > MAX_DEPTH:
        raise CodecError(f"message is nested deeper than {MAX_DEPTH} levels")
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if isinstance(tree, list):
        return [_from_json(item, depth + 1) for item in tree]
    if not isinstance(tree, dict) or len(tree) != 1:
        raise CodecError(f"unexpected JSON object with keys {sorted(tree)[:5] if isinstance(tree, dict) else tree!r}")

    (tag, body), = tree.items()
    if tag == "__float__" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "__tuple__" and isinstance(body, list):
        return tuple(_from_json(item, depth + 1) for item in body)
    if tag == "__dict__" and isinstance(body, list):
        return _dict_from_json(body, depth)
    if tag == "__tensor__" and isinstance(body, dict):
        return _tensor_from_json(body)
    raise CodecError(f"unknown tag {tag!r} in message")


def _dict_from_json(body: list, depth: int) -> dict:
    result = {}
    for item in body:
        if not (isinstance(item, list) and len(item) == 2):
            raise CodecError("a dict entry must be a [key, value] pair")
        key = _from_json(item[0], depth + 1)
        if isinstance(key, (list, dict, torch.Tensor)):
            raise CodecError(f"a dict key must be hashable, got {type(key).__name__}")
        result[key] = _from_json(item[1], depth + 1)
    return result


def _tensor_from_json(body: dict) -> torch.Tensor:
    dtype, shape, data = body.get("dtype"), body.get("shape"), body.get("data")
    if dtype not in DTYPES:
        raise CodecError(f"tensor dtype {dtype!r} is not allowed")
    if not (isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)):
        raise CodecError(f"tensor shape {shape!r} is not a list of non-negative ints")
    if math.prod(shape) > MAX_TENSOR_ELEMENTS:
        raise CodecError(f"tensor of shape {shape} has more than {MAX_TENSOR_ELEMENTS} elements")
    if not isinstance(data, str):
        raise CodecError("tensor data must be a base64 string")

    raw = base64.b64decode(data, validate=True)
    expected = math.prod(shape) * DTYPES[dtype].itemsize
    if len(raw) != expected:
        raise CodecError(f"tensor data has {len(raw)} bytes, expected {expected} for {dtype} {shape}")
    if not raw:
        return torch.empty(shape, dtype=DTYPES[dtype])
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(DTYPES[dtype]).reshape(shape)
