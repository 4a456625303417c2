"""The wire format between the grader's two sides: JSON-able values, strictly decoded.

The untrusted side (``probe.py``, in the sandboxed child, beside the student's code) encodes what
the student's methods returned; the judge (``checks/``, in the grader's own process) decodes it
and accepts nothing else. Both import this module and nothing of each other, so the trust
boundary shows in the imports. :func:`encode` turns values into JSON-able data (arrays as dtype,
shape and base64 bytes); :func:`decode` turns them back.
"""
from __future__ import annotations

import base64
import sys

import numpy as np

MAX_TEXT = 20_000          # characters of one string
MAX_ITEMS = 100_000        # elements of one list or array
DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64"}


def type_name(value) -> str:
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def encode(value, depth=0):
    """A JSON-able form of ``value``: numbers, strings, lists, str-keyed dicts and arrays;
    anything else becomes its type name and a short repr."""
    if depth > 20:
        return {"__obj__": {"type": type_name(value), "repr": "<nested too deep>"}}
    if value is None or isinstance(value, (bool, str)):
        return value if not isinstance(value, str) else value[:MAX_TEXT]
    if isinstance(value, int):
        return value if abs(value) < 2**63 else float(value)
    if isinstance(value, float):
        return value if np.isfinite(value) else {"__float__": repr(value)}
    if is_tensor(value):
        meta = {"dtype": str(value.dtype), "requires_grad": bool(value.requires_grad),
                "device": str(value.device)}
        return {"__nd__": _array(value.detach().cpu().numpy()), "tensor": meta}
    if isinstance(value, (np.ndarray, np.generic)):
        return {"__nd__": _array(np.asarray(value))}
    if isinstance(value, (list, tuple)):
        return {"__seq__": type(value).__name__, "items": [encode(v, depth + 1) for v in value[:MAX_ITEMS]]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__map__": {k[:200]: encode(v, depth + 1) for k, v in list(value.items())[:1000]}}
    return {"__obj__": {"type": type_name(value), "repr": safe_repr(value)}}


def is_tensor(value):
    # Only if torch is loaded already (and fully: another thread may be importing it).
    tensor = getattr(sys.modules.get("torch"), "Tensor", None)
    return tensor is not None and isinstance(value, tensor)


def _array(a):
    if a.dtype.name not in DTYPES or a.size > MAX_ITEMS:
        return {"dtype": a.dtype.name, "shape": list(a.shape), "omitted": True}
    return {"dtype": a.dtype.name, "shape": list(a.shape),
            "b64": base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")}


def safe_repr(value, limit=300):
    try:
        text = repr(value)
    except BaseException:  # noqa: BLE001 - a student's __repr__ may raise anything
        text = "<repr failed>"
    return " ".join(str(text).split())[:limit]


class Opaque(dict):
    """A value the probe could not send as data: ``{"type": ..., "repr": ...}``."""


def decode(obj, depth=0):
    """The inverse of :func:`encode`. Strict: unknown tags, dtypes or sizes raise ValueError.

    Arrays come back as ndarrays (tensors too, with their metadata in ``array.tensor``, a
    dict, via :class:`TensorArray`); unknown objects as :class:`Opaque`.
    """
    if depth > 22:
        raise ValueError("nested too deep")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        raise ValueError("bare list")  # lists always travel tagged
    if not isinstance(obj, dict) or len(obj) > 2:
        raise ValueError(f"unexpected {type(obj).__name__}")
    if "__float__" in obj:
        return float(obj["__float__"]) if obj["__float__"] in ("nan", "inf", "-inf") else _bad(obj)
    if "__nd__" in obj:
        spec = obj["__nd__"]
        if not isinstance(spec, dict) or spec.get("dtype") not in DTYPES or spec.get("omitted"):
            return Opaque(type="array", repr=f"an array of dtype {str(spec.get('dtype'))[:40]} "
                                             f"and shape {str(spec.get('shape'))[:60]}"
                          if isinstance(spec, dict) else "?")
        shape = spec.get("shape")
        if not (isinstance(shape, list) and len(shape) <= 8
                and all(isinstance(n, int) and 0 <= n <= MAX_ITEMS for n in shape)):
            raise ValueError("bad shape")
        dtype = np.dtype(spec["dtype"])
        raw = base64.b64decode(str(spec.get("b64", "")), validate=True)
        if len(raw) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
            raise ValueError("array bytes do not match its shape")
        array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        if "tensor" in obj:
            meta = obj["tensor"]
            if not isinstance(meta, dict):
                raise ValueError("bad tensor metadata")
            array = array.view(TensorArray)
            array.tensor = {"dtype": str(meta.get("dtype"))[:40], "requires_grad": meta.get("requires_grad") is True,
                            "device": str(meta.get("device"))[:40]}
        return array
    if "__seq__" in obj:
        items = obj.get("items")
        if obj["__seq__"] not in ("list", "tuple") or not isinstance(items, list) or len(items) > MAX_ITEMS:
            raise ValueError("bad sequence")
        values = [decode(v, depth + 1) for v in items]
        return tuple(values) if obj["__seq__"] == "tuple" else values
    if "__map__" in obj:
        if not isinstance(obj["__map__"], dict):
            raise ValueError("bad map")
        return {str(k): decode(v, depth + 1) for k, v in obj["__map__"].items()}
    if "__obj__" in obj:
        spec = obj["__obj__"]
        if not isinstance(spec, dict):
            raise ValueError("bad object")
        return Opaque(type=str(spec.get("type"))[:200], repr=str(spec.get("repr"))[:300])
    return _bad(obj)


def _bad(obj):
    raise ValueError(f"unknown tag {sorted(obj)[:3]}")


class TensorArray(np.ndarray):
    """An ndarray that arrived as a torch tensor; ``.tensor`` holds its dtype, device, requires_grad."""

    tensor: dict = {}
