"""The small type system of the expression language: what a value is, and which dtype it has.

Every input is cast to a declared dtype on entry to `update_state`, so dtypes are known when the spec is
compiled. The analyser uses these rules to insert the casts TensorFlow needs (it never promotes on its own:
int32 + float32 is an error there) and to refuse operations that make no sense (a float index, `not` on a
float), with the spec's location.

Kinds:
- ``tensor``: a tensor computed from inputs or state;
- ``static``: a Python value known when the metric is built (literals, params, their arithmetic);
- ``list``: a list param (``list[int]``/``list[float]``); it becomes a constant tensor where a tensor is needed;
- ``callable``: a ``callable`` param, only ever called;
- ``dtype``: a dtype name, only as the second argument of ``cast``.
"""

from __future__ import annotations

from dataclasses import dataclass

# "float" is the metric's compute dtype (the constructor's `dtype=`, float32 by default): it stands for a
# dtype chosen at run time, so it wins over explicitly sized floats when both meet.
FLOAT = "float"
FLOAT_DTYPES = ("float", "float16", "bfloat16", "float32", "float64")
INT_DTYPES = ("int32", "int64")
TENSOR_DTYPES = FLOAT_DTYPES + INT_DTYPES + ("bool",)
_FLOAT_RANK = {"float16": 0, "bfloat16": 0, "float32": 1, "float64": 2}


@dataclass(frozen=True)
class Type:
    kind: str  # tensor | static | list | callable | dtype
    dtype: str = ""  # tensor: one of TENSOR_DTYPES; static/list: int | float | bool | str
    optional: bool = False  # a param whose default is None: usable only where it is known not to be None
    or_number: bool = False  # a list param that may hold one number instead (float|list[float])

    def __str__(self) -> str:
        if self.kind == "tensor":
            return f"{self.dtype} tensor"
        text = self.kind
        if self.kind == "static":
            text = f"constant {self.dtype}"
        elif self.kind == "list":
            text = f"{self.dtype} or list[{self.dtype}]" if self.or_number else f"list[{self.dtype}]"
        return text + (" or None" if self.optional else "")

    def known(self) -> "Type":
        """This type where the value is known not to be None."""
        return Type(self.kind, self.dtype, or_number=self.or_number)

    @property
    def is_tensor(self) -> bool:
        return self.kind == "tensor"

    @property
    def is_static(self) -> bool:
        return self.kind == "static"

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("tensor", "static", "list") and self.dtype != "str"

    @property
    def is_bool(self) -> bool:
        return self.dtype == "bool"

    @property
    def is_int(self) -> bool:
        return self.dtype in INT_DTYPES or (self.kind in ("static", "list") and self.dtype == "int")


def tensor(dtype: str) -> Type:
    return Type("tensor", dtype)


def static(dtype: str) -> Type:
    return Type("static", dtype)


def tensor_dtype_of(t: Type) -> str:
    """The dtype a value takes when it becomes a tensor on its own."""
    if t.kind == "tensor":
        return t.dtype
    if t.dtype == "int":
        return "int32"
    if t.dtype == "float":
        return FLOAT
    return t.dtype  # bool


def promote(types: list[Type]) -> str:
    """The common tensor dtype of numeric operands (bool counts as a number: it becomes a float).

    Constants are weak, as in NumPy 2 and JAX: an int or float constant takes the tensor's dtype, except that
    a float constant makes an int tensor float.
    """
    tensors = [t.dtype for t in types if t.kind == "tensor"]
    weak_float = any(t.kind in ("static", "list") and t.dtype == "float" for t in types)
    weak_int = any(t.kind in ("static", "list") and t.dtype == "int" for t in types)
    if not tensors:
        return FLOAT if weak_float else ("int32" if weak_int else FLOAT)
    floats = [d for d in tensors if d in FLOAT_DTYPES]
    if floats:
        if FLOAT in floats:
            return FLOAT
        if {"float16", "bfloat16"} <= set(floats):
            floats.append("float32")  # neither holds the other: meet in float32, as NumPy and JAX do
        return max(floats, key=lambda d: _FLOAT_RANK[d])
    ints = [d for d in tensors if d in INT_DTYPES]
    if ints and not weak_float:
        return "int64" if "int64" in ints else "int32"
    return FLOAT  # bools, or ints meeting a float constant


def float_of(dtype: str) -> str:
    """The float dtype an operation on ``dtype`` gives (sqrt of an int is a float)."""
    return dtype if dtype in FLOAT_DTYPES else FLOAT
