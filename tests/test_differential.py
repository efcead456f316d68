"""Differential test: random metrics written in the language, run on every target against the reference
interpreter (tests/reference.py, numpy, written from the README's rules and never from a target's code).

Each case is YAML spec text (so the whole pipeline runs: loader, schema, analysis, passes, lowering, black):
random expression trees over the function table and the operators, 2-4 state variables with every fold (add,
max, min, assign), non-zero initial values, int, float, float64 and low-precision dtypes, a state shaped by the
first batch, params at and away from their defaults (optional ones given and left None). Each runs the plan of
differential_run.run_plan: several batches (one of a single sample) with sample weights of a rank the expression
allows or none, reset, a merge of uneven shards (one that saw no batch), a get_config round trip, on tf (eager
and tf.function with jit_compile=True), keras on TensorFlow, torchmetrics (in this process) and keras on JAX and
PyTorch (one subprocess per backend for all cases).

The generator avoids discontinuities the float32 targets cannot agree on with a float64 reference: inputs and
weights lie on a grid of quarters, and comparisons, rounding, int casts, argmax/argsort and denominators only
take operands that stay exact in float32 ("exact" below). Seeded: the same cases every run.

    METRICGEN_DIFFERENTIAL_CASES=2000 .venv/bin/python -m pytest -q tests/test_differential.py   # by hand
    METRICGEN_DIFFERENTIAL_SEED=7 ...                                                             # other cases
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from conftest import tf
from differential_run import keras_maker, load_class, run_plan, to_arrays
from metricgen.compiler import analyse_loaded, generate_from_text
from metricgen.loader import load_spec_text
from reference import Reference, samplewise
from drivers import driver
from support import spec_order_to_torchmetrics

CASES = int(os.environ.get("METRICGEN_DIFFERENTIAL_CASES", "10"))
SEED = int(os.environ.get("METRICGEN_DIFFERENTIAL_SEED", "20261124"))
C = 3  # the inputs' last axis: x, i, b are [batch, C]
BATCH_SIZES = [4, 1, 5, 3]  # one batch of a single sample

# Constructs a target gets wrong today, each avoided by the generator until its issue is closed (delete the
# entry to generate it again). name -> what goes wrong, where, and the issue that tracks it.
KNOWN_ISSUES: dict[str, str] = {}

PARAMS = """\
params:
  scale: {type: float, default: 0.5}
  n: {type: int, default: 2, min: 1}
  flag: {type: bool, default: true}
  cid: {type: int, default: null, min: 0, max: 2}
  cut: {type: float, default: null}
  mode: {type: str, default: a, choices: [a, b]}
  th: {type: "float|list[float]", default: 0.5}
"""
AWAY_FROM_DEFAULTS = {
    "scale": [1.5, -0.75],
    "n": [1, 3],
    "flag": [False],
    "cid": [0, 2],
    "cut": [0.25],
    "mode": ["b"],
    "th": [0.25, [0.25, 1.5]],
}
LOW_PRECISION = ("float16", "bfloat16")


@dataclass
class Node:
    text: str
    dt: str  # f (float), i (int), b (bool)
    exact: bool  # stays exact in float32: a sum of products of quarters


@dataclass
class Generator:
    """Random expressions of one shape: E [batch, C], R [batch], S [] or V [C]."""

    rng: np.random.Generator
    low: bool  # x is float16 or bfloat16: sums and products of it are not exact
    in_update: bool = True
    per_sample_only: bool = False  # a weighted function of a [batch] value: weights of rank 1 or [batch, 1]
    used: set = field(default_factory=set)

    def choose(self, options):
        return options[self.rng.integers(len(options))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.uniform() < p)

    def keep(self, *nodes: Node) -> bool:
        return all(n.exact for n in nodes) and not self.low

    # -- [batch, C] --------------------------------------------------------------------------------------------
    def elem(self, depth: int, dt: str = "f", exact: bool = False) -> Node:
        if depth <= 0 or self.chance(0.2 if dt == "f" else 0.05):
            return self.elem_leaf(dt)
        make = getattr(self, f"elem_{dt}")
        for _ in range(20):
            node = make(depth - 1)
            if node.exact or not exact:
                return node
        return self.elem_leaf(dt)

    def elem_leaf(self, dt: str) -> Node:
        return {
            "f": self.choose([Node("x", "f", True), Node("cast(i, float)", "f", True), Node("(x * scale)", "f", True)]),
            "i": self.choose([Node("i", "i", True), Node("cast(b, int32) + i", "i", True)]),
            "b": self.choose([Node("b", "b", True), Node("(x > 0.5)", "b", True), Node("(i == 1)", "b", True)]),
        }[dt]

    def elem_f(self, d: int) -> Node:
        a = self.elem(d)
        kind = self.choose(["arith", "arith", "unary", "inexact", "bounds", "select", "row", "param", "int", "weights"])
        if kind == "arith":
            b = self.elem(d, self.choose("fi"))
            op = self.choose(["+", "-", "*", "/"])
            if op == "/":
                b = self.elem(d, self.choose("fi"), exact=True)
                return Node(f"({a.text} / {b.text})", "f", False) if b.exact else Node(f"({a.text} * 2)", "f", a.exact)
            return Node(f"({a.text} {op} {b.text})", "f", self.keep(a, b))
        if kind == "unary":
            fn = self.choose(["abs", "negative", "square", "-", "+", "sign", "floor", "ceil", "round"])
            if fn in ("sign", "floor", "ceil", "round") and not a.exact:
                a = self.elem_leaf("f")  # a discontinuity takes an exact operand
            text = f"{fn}{a.text}" if fn in "-+" else f"{fn}({a.text})"
            return Node(text, "f", self.keep(a) or (fn in ("sign", "floor", "ceil", "round") and a.exact))
        if kind == "inexact":
            return Node(
                self.choose(
                    [
                        f"sqrt(abs({a.text}) + 1)",
                        f"log(abs({a.text}) + 1)",
                        f"log1p(abs({a.text}))",
                        f"exp(clip({a.text}, -4, 4))",
                        f"sigmoid({a.text})",
                        f"softplus({a.text})",
                        f"rsqrt(abs({a.text}) + 0.5)",
                        f"log_softmax({a.text})",
                        f"softmax({a.text}, axis=0)",
                        f"true_divide({a.text}, abs({self.elem(d).text}) + 1)",
                        f"safe_div({a.text}, {self.elem(d, 'f', exact=True).text})",
                    ]
                ),
                "f",
                False,
            )
        if kind == "bounds":
            b = self.elem(d)
            text = self.choose(
                [f"maximum({a.text}, {b.text})", f"minimum({a.text}, {b.text})", f"clip({a.text}, -1, 1.5)"]
            )
            return Node(text, "f", self.keep(a, b))
        if kind == "select":
            b, cond = self.elem(d), self.elem(d, "b", exact=True)
            return Node(
                self.choose(
                    [
                        f"where({cond.text}, {a.text}, {b.text})",
                        f"({a.text} if {cond.text} else {b.text})",
                        f"({a.text} if flag else {b.text})",
                        f'({a.text} if mode == "a" else {b.text})',
                        f"({a.text} if cut is None else {a.text} * cut)",
                        f"({a.text} if rank({a.text}) > 1 else {b.text})",
                    ]
                ),
                "f",
                self.keep(a, b),
            )
        if kind == "row":  # operations along the last axis (or over the batch) that keep [batch, C]
            key = self.elem(d, "f", exact=True)
            texts = [
                f"cumsum({a.text}, axis=1)",
                f"cumsum({a.text}, axis=-1, reverse=True, exclusive=True)",
                f"cumsum({a.text}, axis=0, exclusive=True)",
                f"sort({a.text})",
                f"sort({a.text}, axis=-1, descending=True)",
                f"flip({a.text}, 1)",
                f"concat(({a.text})[:, :1], ({self.elem(d).text})[:, 1:])",
                f"gather({a.text}, {C - 1} - arange({C}), axis=1)",
                f"transpose(transpose({a.text}))",
                f"one_hot(i[:, 0], {C}) * {a.text}",
                f"reshape(reshape({a.text}, [-1]), [-1, {C}])",
                f"batch_flatten(expand_dims({a.text}, -1))",
                f"squeeze(expand_dims({a.text}, -1), axis=-1)",
            ]
            if key.exact:
                texts += [f"take_along_axis({a.text}, argsort({key.text}, descending={d}))" for d in ("True", "False")]
                texts.append(f"rankdata({key.text}, axis={self.choose(['0', '-1'])})")
            return Node(self.choose(texts), "f", self.keep(a))
        if kind == "param":
            return Node(
                self.choose([f"({a.text} * th[0])", f"({a.text} + th[-1])", f"({a.text} * n)"]), "f", self.keep(a)
            )
        if kind == "int":
            return Node(f"cast({self.elem(d, 'i').text}, float)", "f", True)
        if self.in_update:
            return Node(f"(sample_weights({a.text}) * {a.text})", "f", self.keep(a))
        return a

    def elem_i(self, d: int) -> Node:
        a = self.elem(d, "i")
        exact_float = self.elem(d, "f", exact=True)
        options = [
            f"({a.text} + n)",
            f"({a.text} * 2)",
            f"({a.text} // n)",
            f"({a.text} % 2)",
            f"({a.text} ** 2)",
            f"minimum({a.text}, n)",
            f"where(b, {a.text}, 0)",
            f"(cumsum(ones_like({a.text}), axis=-1) - 1)",
            f"abs({a.text} - 1)",
        ]
        if exact_float.exact:
            options += [f"argsort({exact_float.text})", f"cast(floor({exact_float.text}), int32)"]
        return Node(self.choose(options), "i", True)

    def elem_b(self, d: int) -> Node:
        a, b = self.elem(d, "f", exact=True), self.elem(d, "f", exact=True)
        p = self.elem(d, "b")
        options = [f"~{p.text}", f"({p.text} | b)", f"({p.text} & (i > 0))", f"(not {p.text})", "(0 < x <= 1)"]
        if a.exact and b.exact:
            options += [
                f"({a.text} {self.choose(['>', '>=', '<', '<=', '==', '!='])} {b.text})",
                f"({a.text} > scale)",
                f"(isnan(true_divide({a.text}, {b.text})) | isinf(true_divide({b.text}, {a.text})))",
                f"cast({a.text}, bool)",
            ]
        if "static-and-or" not in KNOWN_ISSUES:
            options += [f"(cid is None or i != cid)", f"(flag and {p.text})", f"({p.text} or cut is not None)"]
        options += [f"({p.text} and (i < 2))", f"({p.text} or b)"]
        return Node(self.choose(options), "b", True)

    # -- [batch] -----------------------------------------------------------------------------------------------
    def row(self, depth: int) -> Node:
        a = self.elem(depth)
        e = self.elem(depth, "f", exact=True)
        options = [
            Node(f"sum({a.text}, axis=1)", "f", self.keep(a)),
            Node(f"mean({a.text}, axis=-1)", "f", False),
            Node(f"max({a.text}, axis=1)", "f", a.exact),
            Node(f"min({a.text}, axis=-1)", "f", a.exact),
            Node(f"prod({a.text}, axis=1)", "f", self.keep(a)),
            Node(f"prod(expand_dims({a.text}, -1), axis=(1, 2))", "f", self.keep(a)),  # several axes of 3-D
            Node(f"logsumexp({a.text}, axis=1)", "f", False),
            Node(f"({a.text})[:, 0]", "f", a.exact),
            Node(f"(({a.text})[..., cid] if cid is not None else ({a.text})[:, 1])", "f", a.exact),
            Node(f"squeeze(({a.text})[:, 1:2], axis=-1)", "f", a.exact),
            Node(f"cast(any({self.elem(depth, 'b').text}, axis=1), float)", "f", True),
            Node(f"cast(all({self.elem(depth, 'b').text}, axis=-1), float)", "f", True),
        ]
        if e.exact:
            options += [
                # abs: keras.ops ranks -0.0 below 0.0 (the keras target follows it; docs/language.md)
                Node(f"cast(argmax(abs({e.text})), float)", "f", True),
                Node(f"cast(argmin(abs({e.text}), axis=-1), float)", "f", True),
                Node(f"cast(in_top_k(i[:, 0], {e.text}, 2), float)", "f", True),
            ]
        return self.choose(options)

    # -- [] and [C] ----------------------------------------------------------------------------------------------
    def scalar(self, depth: int) -> Node:
        if self.chance(0.4):  # through a value per sample
            r = self.row(depth - 1)
            return Node(self.choose([f"sum({r.text})", f"max({r.text})", f"mean({r.text})"]), "f", False)
        a = self.elem(depth)
        options = [
            Node(f"sum({a.text})", "f", self.keep(a)),
            Node(f"mean({a.text})", "f", False),
            Node(f"max({a.text})", "f", a.exact),
            Node(f"min({a.text})", "f", a.exact),
            Node(f"sum({self.row(depth - 1).text})", "f", False),
            Node(f"logsumexp({a.text})", "f", False),
            Node(f"sum(top_k({a.text}, 2))", "f", self.keep(a)),
            Node(f"sum(matmul({a.text}, transpose({self.elem(depth - 1).text})))", "f", False),
            Node(f"cast(size({a.text}), float)", "f", True),
            Node(f"cast(shape({a.text}, 0), float)", "f", True),
            Node(f"cast(any({self.elem(depth, 'b').text}), float)", "f", True),
            Node(f"cast(sum({self.elem(depth, 'i').text}), float)", "f", True),
        ]
        if self.in_update:
            options += [
                Node(f"weighted_sum({a.text})", "f", self.keep(a)),
                Node(f"weighted_count({a.text})", "f", True),
                Node("weighted_count(b)", "f", True),
                # × samples / size: exact only where the size divides evenly, so never assumed exact
                Node(f"samplewise_sum({a.text})", "f", False),
                Node(f"samplewise_count({a.text})", "f", False),
            ]
            if self.chance(0.2):
                self.per_sample_only = True
                options = [Node(f"weighted_sum({self.row(depth - 1).text})", "f", False)]
            if self.chance(0.1):
                options = [Node(f"(0.0 if has_sample_weight() else sum({a.text}))", "f", self.keep(a))]
        return self.choose(options)

    def vector(self, depth: int) -> Node:
        a = self.elem(depth)
        i = self.elem(depth, "i")
        return self.choose(
            [
                Node(f"sum({a.text}, axis=0)", "f", self.keep(a)),
                Node(f"max({a.text}, axis=0)", "f", a.exact),
                Node(f"min({a.text}, axis=0, keepdims=True)[0]", "f", a.exact),
                Node(f"mean({a.text}, axis=0)", "f", False),
                Node(f"segment_sum({a.text}, i, {C})", "f", self.keep(a)),
                Node(f"bincount(reshape({i.text}, [-1]), {C})", "f", True),
                Node(f"bincount(reshape(i, [-1]), {C}, weights=reshape({a.text}, [-1]))", "f", self.keep(a)),
                Node(f"sum(one_hot(i[:, 0], {C}), axis=0)", "f", True),
                # edges in descending order (the search sorts them first), each exact in float32: -0.5 .. 1.5
                Node(
                    f"bincount(reshape(bucketize({a.text}, 1.5 - cast(arange({C - 1}), float)), [-1]), {C})", "f", True
                ),
                Node(f"sum(transpose({a.text}), axis=1)", "f", self.keep(a)),
                Node(f"sum(({self.row(depth - 1).text})[:, None] * {a.text}, axis=0)", "f", False),
                Node(f"(linspace(0, 1, {C}) * sum({a.text}))", "f", False),
                Node(f"(cast(arange({C}), float) + sum({a.text}, axis=0))", "f", self.keep(a)),
            ]
        )


@dataclass
class State:
    name: str
    vector: bool  # [C] (else a scalar)
    dtype: str
    fold: str
    init: object
    by_batch: bool  # shaped by the first batch: shape(x, -1)
    value: Node

    @property
    def declaration(self) -> str:
        parts = []
        if self.by_batch:
            parts.append('shape: ["shape(x, -1)"]')
        elif self.vector:
            parts.append(f"shape: [{C}]")
        if self.dtype != "float":
            parts.append(f"dtype: {self.dtype}")
        if self.init != 0:
            parts.append(f"init: {self.init}")
        if self.fold != "add":
            parts.append(f"fold: {self.fold}")
        return f"  {self.name}: {{{', '.join(parts)}}}"

    @property
    def exact(self) -> bool:
        return self.value.exact and self.dtype not in LOW_PRECISION


def make_case(rng: np.random.Generator, number: int) -> dict:
    """One random metric: spec text, params, batches, weights."""
    x_dtype = rng.choice(["float", "float", "float32", "float64", "float16", "bfloat16"])
    i_dtype = rng.choice(["int32", "int32", "int64"])
    gen = Generator(rng, low=x_dtype in LOW_PRECISION)
    states = []
    for k in range(int(rng.integers(2, 5))):
        vector = gen.chance(0.4)
        value = gen.vector(2) if vector else gen.scalar(2)
        by_batch = vector and gen.chance(0.4)
        fold = "add" if by_batch else gen.choose(["add", "add", "max", "min", "assign"])
        dtype = "float"
        if not by_batch and gen.chance(0.4):
            dtype = gen.choose(["float64", "float16", "bfloat16"] + (["int32", "int64"] if value.exact else []))
        integral = dtype.startswith("int")
        if integral:  # a float folded into an int state is refused: the spec casts
            value = Node(f"cast({value.text}, {dtype})", "i", value.exact)
        init = 0
        if not by_batch and gen.chance(0.5):
            init = gen.choose([3, -2] if integral else [2.5, -1.5, 4])
            if fold in ("max", "min") and not integral and gen.chance(0.5):
                init = "-.inf" if fold == "max" else ".inf"
        if fold == "assign" and states and not states[-1].vector and gen.chance(0.5):
            value = Node(f"({value.text} + {states[-1].name} * 0.5)", "f", False)  # reads the state before the batch
        states.append(State(f"s{k}", vector, dtype, fold, init, by_batch, value))
    gen.in_update = False
    result = make_result(gen, states)
    if (
        i_dtype == "int64" and gen.chance(0.5) and "int64-past-int32" not in KNOWN_ISSUES
    ):  # int64 sums past int32's range, read back exactly
        states.append(State("big", False, "int64", "add", 0, False, Node("sum(i + 1000000000)", "i", True)))
        result += " + cast(big % 97, float)"
    spec = "\n".join(
        [
            "name: probe",
            "class_name: Probe",
            f"description: differential case {number}",
            PARAMS.rstrip(),
            "inputs:",
            f"  - {{name: x, dtype: {x_dtype}}}",
            f"  - {{name: i, dtype: {i_dtype}}}",
            "  - {name: b, dtype: bool}",
            "state:",
            *(s.declaration for s in states),
            "update:",
            *(f"  {s.name}: {s.value.text}" for s in states),
            f"result: {result}",
            "",
        ]
    )
    params = {}
    for name, values in AWAY_FROM_DEFAULTS.items():
        if rng.uniform() < 0.35:
            params[name] = values[rng.integers(len(values))]
    return {
        "spec": spec,
        "params": params,
        "dtypes": [x_dtype, i_dtype, "bool"],
        "low": gen.low or any(s.dtype in LOW_PRECISION for s in states),
        "mergeable": all(s.fold != "assign" for s in states),
        **make_batches(rng, gen.per_sample_only),
    }


def make_result(gen: Generator, states: list[State]) -> str:
    terms = []
    for s in states:
        t = f"sum({s.name})" if s.vector else s.name
        t = t if not s.dtype.startswith("int") else f"cast({t}, float)"
        wrap = gen.choose(["plain", "plain", "sqrt", "scale", "select", "divide", "maximum"])
        if wrap == "sqrt":
            t = f"sqrt(abs({t}))"
        elif wrap == "scale":
            t = f"({t} * scale)"
        elif wrap == "select":
            t = f"({t} if flag else -{t})"
        elif wrap == "divide":
            t = f"({t} / (abs({t}) + 1))"
        elif wrap == "maximum":
            t = f"maximum({t}, -10.0)"
        terms.append(t)
    exact = [s for s in states if s.exact and not s.vector and not s.dtype.startswith("int")]
    if exact and gen.chance(0.3):  # a ratio whose denominator may be 0 exactly
        terms.append(f"safe_div({terms[0]}, {exact[0].name})")
    vectors = [s for s in states if s.vector]
    if vectors and gen.chance(0.3):  # a tensor result: one value per class
        return f"{vectors[0].name} * 2 + " + " + ".join(terms)
    return " + ".join(terms)


def grid(rng, shape, low=-2.0, high=2.0) -> np.ndarray:
    """Quarters in [low, high]: exact in every float dtype, so sums of products of them are exact in float32."""
    return rng.integers(int(low * 4), int(high * 4) + 1, shape) / 4


def make_batches(rng: np.random.Generator, per_sample_only: bool) -> dict:
    ranks = ["none", "[]", "[B]", "[B, 1]"] + ([] if per_sample_only else ["[B, C]", "[B, C, 1]"])
    rank = ranks[rng.integers(len(ranks))]
    batches, weights = [], []
    for size in BATCH_SIZES:
        x, i, b = grid(rng, (size, C)), rng.integers(0, C, (size, C)), rng.uniform(size=(size, C)) > 0.5
        batches.append([x.tolist(), i.tolist(), b.tolist()])
        shape = {"[]": (), "[B]": (size,), "[B, 1]": (size, 1), "[B, C]": (size, C), "[B, C, 1]": (size, C, 1)}.get(
            rank
        )
        weights.append(None if shape is None else grid(rng, shape, 0.0, 2.0).tolist())
    return {"batches": batches, "weights": weights, "weight_rank": rank}


# --- running ----------------------------------------------------------------------------------------------------


class ReferenceAdapter:
    def __init__(self, metric, params, dtypes):
        self.reference, self.dtypes = Reference(metric, params), dtypes

    def update(self, batch, weights):
        self.reference.update(
            *to_arrays(batch, self.dtypes), sample_weight=None if weights is None else np.asarray(weights)
        )

    def result(self):
        return self.reference.result()

    def reset(self):
        self.reference.reset()

    def merge(self, others):
        self.reference.merge([o.reference for o in others])

    def round_trip(self):
        return ReferenceAdapter(self.reference.metric, self.reference.params, self.dtypes)


class TorchmetricsAdapter:
    def __init__(self, cls, params, dtypes):
        self.metric, self.dtypes = cls(**params), dtypes

    def update(self, batch, weights):
        import torch

        w = None if weights is None else torch.as_tensor(np.asarray(weights, np.float32))
        inputs = [torch.as_tensor(a) for a in to_arrays(batch, self.dtypes)]
        self.metric.update(*spec_order_to_torchmetrics(self.metric, inputs), sample_weight=w)

    def result(self):
        return self.metric.compute().detach().cpu().double().numpy()

    def reset(self):
        self.metric.reset()

    def merge(self, others):
        for other in others:
            self.metric.merge_state(other.metric)


class JaxAdapter:
    """A jax-target metric and its state; `compiled`: update under jax.jit."""

    def __init__(self, cls, params, dtypes, compiled=False):
        import jax

        self.metric, self.dtypes, self.compiled = cls(**params), dtypes, compiled
        self.state = self.metric.init()
        self.step = jax.jit(self.metric.update) if compiled else self.metric.update

    def update(self, batch, weights):
        w = None if weights is None else np.asarray(weights, np.float32)
        self.state = self.step(self.state, *to_arrays(batch, self.dtypes), sample_weight=w)

    def result(self):
        return np.asarray(self.metric.compute(self.state), np.float64)

    def reset(self):
        self.state = self.metric.init()

    def merge(self, others):
        for other in others:
            self.state = self.metric.merge(self.state, other.state)

    def round_trip(self):
        return JaxAdapter(type(self.metric), self.metric.get_config(), self.dtypes, self.compiled)


@functools.lru_cache(maxsize=None)
def cases() -> list[dict]:
    rng = np.random.default_rng(SEED)
    made = []
    for number in range(CASES):
        case = make_case(rng, number)
        _, metric = analyse_loaded(load_spec_text(case["spec"], f"case{number}.yaml"))
        case["round_trip"] = True
        case["expected"] = run_plan(lambda params: ReferenceAdapter(metric, params, case["dtypes"]), case)
        failed = {k: v for k, v in case["expected"].items() if isinstance(v, str)}
        assert not failed, f"the generator wrote a metric the reference cannot run: {failed}\n{case['spec']}"
        case["id"] = str(number)
        made.append(case)
    return made


@functools.lru_cache(maxsize=None)
def source(number: int, target: str) -> str:
    return generate_from_text(cases()[number]["spec"], f"case{number}.yaml", target)


def tolerance(case: dict, expected: list) -> tuple[float, float]:
    """Relative and absolute tolerance: float32 against float64 (1e-5), looser where a low-precision dtype
    takes part; the absolute part scaled by the largest value the case gives (sums of large terms cancel)."""
    rtol = 3e-2 if case["low"] else 2e-5
    values = [np.abs(np.asarray(v, np.float64)) for v in expected.values() if not isinstance(v, str)]
    finite = [v[np.isfinite(v)].max() for v in values if np.isfinite(v).any()]
    return rtol, rtol * max([1.0] + finite)


def compare(case: dict, target: str, got: dict) -> list[str]:
    """The disagreements of a target's observations with the reference's, one line each."""
    expected, problems = case["expected"], []
    rtol, atol = tolerance(case, expected)
    if "build" in got:
        return [f"{target}: {got['build']}"]
    for name, want in expected.items():
        have = got.get(name, "error: not run")
        if isinstance(want, str) or isinstance(have, str):
            if isinstance(want, str) != isinstance(have, str):
                problems.append(f"{target} {name}: expected {want}, got {have}")
            continue
        want, have = np.asarray(want), np.asarray(have)
        if want.shape != have.shape or not np.allclose(have, want, rtol=rtol, atol=atol, equal_nan=True):
            problems.append(f"{target} {name}: expected {want.tolist()}, got {have.tolist()}")
    return problems


def report(case: dict, problems: list[str]) -> str:
    weights = f"sample weights {case['weight_rank']}"
    return f"params {case['params']}, {weights}\n{case['spec']}\n" + "\n".join(problems)


def in_process(target: str, number: int) -> dict:
    case = cases()[number]
    if target == "torchmetrics":
        cls = load_class(source(number, "torchmetrics"), "Probe", f"differential_torch_{number}")
        return run_plan(lambda params: TorchmetricsAdapter(cls, params, case["dtypes"]), {**case, "round_trip": False})
    if target.startswith("jax"):
        cls = load_class(source(number, "jax"), "Probe", f"differential_jax_{number}")
        with driver("jax").with_64_bit_types():  # a case may hold int64 (the metric refuses it otherwise)
            return run_plan(lambda params: JaxAdapter(cls, params, case["dtypes"], target == "jax-jit"), case)
    cls = load_class(source(number, "keras" if target == "keras" else "tf"), "Probe", f"differential_{target}_{number}")
    compile_update = (lambda update: tf.function(update, jit_compile=True)) if target == "tf-xla" else None
    return run_plan(keras_maker(cls, case["dtypes"], compile_update), case)


@pytest.mark.parametrize("number", range(CASES))
@pytest.mark.parametrize("target", ["tf", "tf-xla", "keras", "torchmetrics", "jax", "jax-jit"])
def test_target_agrees_with_the_reference(target, number):
    case = cases()[number]
    got = in_process(target, number)
    if target == "torchmetrics":
        case = {**case, "expected": {k: v for k, v in case["expected"].items() if "round trip" not in k}}
    problems = compare(case, target, got)
    assert not problems, report(case, problems)


@functools.lru_cache(maxsize=None)
def under_backend(backend: str) -> dict:
    jobs = [{"id": c["id"], "source": source(int(c["id"]), "keras"), "class_name": "Probe", "case": c} for c in cases()]
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    script = Path(__file__).resolve().parent / "differential_run.py"
    done = subprocess.run(
        [sys.executable, str(script)], input=json.dumps(jobs), env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-5000:]
    answer = json.loads(done.stdout)
    assert answer["backend"] == backend
    return answer["results"]


@pytest.mark.parametrize("number", range(CASES))
@pytest.mark.parametrize(
    "backend",
    [
        pytest.param(b, marks=[] if importlib.util.find_spec(b) else [pytest.mark.skip(reason=f"{b} is not installed")])
        for b in ("jax", "torch")
    ],
)
def test_keras_target_agrees_with_the_reference_under(backend, number):
    case = cases()[number]
    problems = compare(case, f"keras on {backend}", under_backend(backend)[case["id"]])
    assert not problems, report(case, problems)


def test_the_generator_reaches_every_function_and_fold():
    """The generator reaches every function of the table but the internal ones, every fold and dtype, within 200
    metrics (a default run samples 10 of them; a larger budget runs more)."""
    from metricgen.functions import REGISTRY

    rng = np.random.default_rng(SEED)
    specs = "".join(make_case(rng, n)["spec"] for n in range(max(CASES, 200)))
    missing = {name for name, f in REGISTRY.items() if not f.internal and f"{name}(" not in specs}
    assert missing == set()
    for word in ("fold: max", "fold: min", "fold: assign", "dtype: int64", "dtype: bfloat16", "shape(x, -1)"):
        assert word in specs


@pytest.mark.parametrize(
    "values_shape, weight_shape",
    [((5,), None), ((5, 3), None), ((), ()), ((5,), ()), ((5, 3), ()), ((1,), ()), ((5, 3, 2), ())]
    + [((5,), (5,)), ((5, 3), (5,)), ((5, 3), (5, 1)), ((5, 3), (5, 3)), ((5, 1), (5,)), ((5, 3, 2), (5, 3))],
)
def test_reference_samplewise_is_keras_mean(values_shape, weight_shape):
    """The reference's samplewise_sum/samplewise_count (written from Keras' source) against keras.metrics.Mean
    itself, over ranks of values and weights; its count is Mean's `count` variable."""
    import keras

    rng = np.random.default_rng(len(values_shape) * 10 + len(weight_shape or ()))
    values = grid(rng, values_shape)
    w = None if weight_shape is None else grid(rng, weight_shape, 0.25, 2.0)
    mean = keras.metrics.Mean(dtype="float64")
    mean.update_state(values, sample_weight=w)
    total, count = samplewise(values, w)
    np.testing.assert_allclose([total, count], [float(mean.total.numpy()), float(mean.count.numpy())], rtol=1e-12)
