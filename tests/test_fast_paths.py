"""The faster forms the helpers take (see docs/benchmarks.md) compute what the plain forms compute, including at
the edges the plain forms define: TensorFlow's in eager mode, in graph mode and under XLA; torch's sorts by radix
against torch's own sort and scipy's ranks, on both sides of the length where they take the radix path."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from conftest import tf
from support import target_helpers


def helpers(target: str = "tf"):
    """The tf target's helper functions, or (target="keras") the keras target's, as one module."""
    return target_helpers(target)


RUNNERS = {
    "eager": lambda f: f,
    "graph": lambda f: tf.function(f),
    "xla": lambda f: tf.function(f, jit_compile=True),
}


def reference_segment_sum(data, ids, n):
    out = np.zeros((n,) + data.shape[ids.ndim :], np.float64)
    for index in np.ndindex(ids.shape):
        if 0 <= ids[index] < n:
            out[ids[index]] += data[index]
    return out


@pytest.mark.parametrize("shape", [(5, 4), (160, 128)], ids=["few", "many"])  # scatter-add / bincount
@pytest.mark.parametrize("mode", list(RUNNERS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "float16", "bfloat16"])
@pytest.mark.parametrize("target", ["tf", "keras"])  # the keras target's helper on the TensorFlow backend
def test_segment_sum_matches_unsorted_segment_sum_and_drops_ids_out_of_range(mode, dtype, shape, target):
    rng = np.random.default_rng(0)
    ids = rng.integers(-3, 9, size=shape).astype(np.int32)  # some negative, some >= 6
    data = rng.integers(-4, 5, size=shape).astype(np.float64)
    run = RUNNERS[mode](lambda d, i: helpers(target)._segment_sum(d, i, 6))
    got = run(tf.constant(data, dtype=dtype), tf.constant(ids))
    assert got.dtype == tf.as_dtype(dtype) and got.shape == (6,)
    np.testing.assert_allclose(np.asarray(tf.cast(got, tf.float64)), reference_segment_sum(data, ids, 6))


@pytest.mark.parametrize("mode", list(RUNNERS))
def test_segment_sum_of_rows_keeps_the_trailing_axes(mode):
    data = np.arange(12, dtype=np.float32).reshape(4, 3)
    ids = np.array([1, 0, 1, 5], np.int32)
    run = RUNNERS[mode](lambda d, i: helpers()._segment_sum(d, i, 2))
    np.testing.assert_allclose(run(tf.constant(data), tf.constant(ids)).numpy(), [[3, 4, 5], [6, 8, 10]])


@pytest.mark.parametrize("mode", list(RUNNERS))
def test_keras_segment_sum_of_ids_of_lower_rank_and_numpy_inputs(mode):
    """The keras target's helper on TensorFlow: ids a prefix of the data's shape (its own reshape, past the
    bincount's same-shape case), and numpy inputs, many of them (where the bincount is tried first)."""
    import keras

    assert keras.backend.backend() == "tensorflow"  # the branch under test runs on this backend only
    rng = np.random.default_rng(1)
    data = rng.integers(-4, 5, size=(20000, 2)).astype(np.float32)
    ids = rng.integers(-2, 7, size=20000).astype(np.int32)
    expected = reference_segment_sum(data, ids, 5)
    run = RUNNERS[mode](lambda d, i: helpers("keras")._segment_sum(d, i, 5))
    np.testing.assert_allclose(np.asarray(run(tf.constant(data), tf.constant(ids))), expected)
    flat = data[:, 0]
    got = helpers("keras")._segment_sum(flat, ids, 5)  # numpy, eagerly
    np.testing.assert_allclose(np.asarray(got), reference_segment_sum(flat, ids, 5))


@pytest.mark.parametrize("mode", list(RUNNERS))
@pytest.mark.parametrize("target", ["tf", "keras"])
@pytest.mark.parametrize("repeat", [1, 4000], ids=["few", "many"])
def test_segment_sum_takes_int64_ids(repeat, target, mode):
    ids = tf.constant([0, 2, 2, -1, 7] * repeat, tf.int64)
    run = RUNNERS[mode](lambda d, i: helpers(target)._segment_sum(d, i, 3))
    got = run(tf.constant([1.0, 2.0, 3.0, 4.0, 5.0] * repeat), ids)
    np.testing.assert_allclose(got.numpy(), np.array([1.0, 0.0, 5.0]) * repeat)


def test_weighted_sum_of_pair_is_the_sum_of_the_pair():
    h = helpers()
    a = tf.constant(np.arange(12, dtype=np.float32).reshape(3, 4))
    b = tf.constant(np.full((3, 4), 0.5, np.float32))
    row = tf.constant(np.arange(4, dtype=np.float32))  # broadcast: not Σa + Σrow
    w = tf.constant([1.0, 2.0, 0.0])
    for mode in RUNNERS.values():
        np.testing.assert_allclose(mode(lambda x, y: h._weighted_sum_of_pair(x, y, None))(a, b), 66 + 6)
        np.testing.assert_allclose(mode(lambda x, y: h._weighted_sum_of_pair(x, y, None, subtract=True))(a, b), 60)
        np.testing.assert_allclose(mode(lambda x, y: h._weighted_sum_of_pair(x, y, None))(a, row), 66 + 3 * 6)
        np.testing.assert_allclose(mode(lambda x, y: h._weighted_sum_of_pair(x, y, w))(a, b), 6 + 2 + 2 * (22 + 2))


# torch's CPU sort takes a radix sort from 32,768 elements of one axis: each size below runs one path of the
# torchmetrics target's _argsort/_sort/_rankdata
SORT_SIZES = [(1000,), (40000,), (40000, 3), (3, 40000), (0, 40000)]


def awkward_values(rng, shape, dtype):
    """Values that test an order: every NaN torch sorts as one (a negative one and one with a payload
    among them), both zeros, both infinities, the extremes of the dtype, and many ties."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.choice(np.array([info.min, info.min + 1, -1, 0, 1, 7, info.max], dtype), shape)
    info = np.finfo(dtype)
    nans = np.array([np.nan, -np.nan, np.frombuffer(np.uint32(0xFFC00001).tobytes(), np.float32)[0]], dtype)
    edges = np.array([0.0, -0.0, np.inf, -np.inf, info.max, -info.max, info.tiny, -info.tiny], dtype)
    return rng.choice(np.concatenate([nans, edges, rng.normal(size=30).astype(dtype)]), shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
@pytest.mark.parametrize("shape", SORT_SIZES, ids=["x".join(map(str, s)) for s in SORT_SIZES])
def test_torch_argsort_and_sort_are_torch_own_stable_sort(shape, dtype):
    """_argsort gives the very indices of torch.argsort(stable=True), ties in their order both ways, and _sort
    its values (NaN where torch puts NaN), along every axis."""
    import torch

    h = target_helpers("torchmetrics")
    x = torch.as_tensor(awkward_values(np.random.default_rng(len(shape)), shape, dtype))
    for axis in range(-x.dim(), x.dim()):
        for descending in (False, True):
            expected = torch.argsort(x, dim=axis, descending=descending, stable=True)
            assert torch.equal(h._argsort(x, axis, descending), expected), (axis, descending)
            values = torch.sort(x, dim=axis, descending=descending).values
            got = h._sort(x, axis, descending)
            assert got.dtype == x.dtype and got.shape == x.shape
            if x.is_floating_point():
                assert torch.equal(got.isnan(), values.isnan())
                got, values = got.nan_to_num(0.5), values.nan_to_num(0.5)
            assert torch.equal(got, values)


def test_torch_sort_of_a_number_and_ranks_of_ints_are_torch_own():
    """The edges of the plain paths: a 0-d tensor sorts to itself, and ints rank as floats on both paths."""
    import torch
    from scipy.stats import rankdata

    h = target_helpers("torchmetrics")
    assert torch.equal(h._sort(torch.tensor(3.0), 0, False), torch.tensor(3.0))
    for size in (100, 40000):
        ints = np.random.default_rng(size).integers(-5, 5, size)
        got = h._rankdata(torch.as_tensor(ints), 0)
        assert got.is_floating_point()
        np.testing.assert_array_equal(got.numpy(), rankdata(ints))


@pytest.mark.parametrize("nan", [True, False], ids=["nan", "numbers"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SORT_SIZES + [(0,), (1,)], ids=lambda s: "x".join(map(str, s)))
def test_torch_rankdata_is_scipy_rankdata(shape, dtype, nan):
    """Average ranks, NaN ranked above +inf and given NaN: scipy.stats.rankdata(nan_policy="omit"), exactly;
    and rows of numbers alone (below 32,768 they skip the NaN ops, read back from the sorted rows' ends)."""
    import torch
    from scipy.stats import rankdata

    h = target_helpers("torchmetrics")
    x = awkward_values(np.random.default_rng(7), shape, dtype)
    if not nan:
        x = np.where(np.isnan(x), np.asarray(1.5, dtype), x)
    for axis in range(-x.ndim, x.ndim):
        got = h._rankdata(torch.as_tensor(x), axis).numpy()
        assert got.dtype == dtype
        expected = rankdata(x.astype(np.float64), axis=axis, nan_policy="omit")
        np.testing.assert_array_equal(got, expected.astype(dtype))


def test_every_helper_a_lowering_calls_is_defined_for_its_target():
    """Helpers are found in the printed code (not listed in the table): each name a lowering writes as a call
    of `_something(` must be a function of that target's helper files."""
    import re

    from metricgen.functions import REGISTRY, Args
    from metricgen.targets import TARGETS

    for target in TARGETS.values():
        for name, lowering in target.column.items():
            codes = {a.name: a.name for a in REGISTRY[name].args}
            code = lowering(Args(codes, codes, set(), target.dtype("float"), "float"))
            for helper in re.findall(r"\b(_[a-z][a-z0-9_]*)\(", code):
                assert helper in target.helper_sources, (name, target.name, helper)


def helpers_with_runs_of(target: str, length: int):
    """A target's helpers with runs of ``length`` values in place of 2**23, so that a small sum takes runs."""
    return target_helpers(target, {"2**23": str(length)})


def segment_sum_runs(target: str, mode: str):
    """The target's _segment_sum under `mode`, taking a numpy batch and giving numpy."""
    if target == "jax":
        import jax

        return lambda h, d, i, n: np.asarray(
            (jax.jit if mode == "jit" else (lambda f: f))(lambda a, b: h._segment_sum(a, b, n))(d, i)
        )
    return lambda h, d, i, n: np.asarray(
        RUNNERS[mode](lambda a, b: h._segment_sum(a, b, n))(tf.constant(d), tf.constant(i))
    )


SEGMENT_RUNS = [("tf", m) for m in RUNNERS] + [("keras", m) for m in RUNNERS] + [("jax", "eager"), ("jax", "jit")]


@pytest.mark.parametrize("target, mode", SEGMENT_RUNS)
@pytest.mark.parametrize("dtype", ["float32", "float16", "int32"])
@pytest.mark.parametrize("trailing", [(), (3,)], ids=["values", "rows"])
def test_segment_sum_in_runs_is_the_plain_sum(target, mode, dtype, trailing):
    """In runs (here of 4 values: 21 values take 6), ids out of range still dropped, rows kept whole."""
    rng = np.random.default_rng(4)
    ids = rng.integers(-2, 7, size=(7, 3)).astype(np.int32)
    data = rng.integers(-4, 5, size=(7, 3) + trailing).astype(dtype)
    got = segment_sum_runs(target, mode)(helpers_with_runs_of(target, 4), data, ids, 5)
    assert got.dtype == np.dtype(dtype) and got.shape == (5,) + trailing
    np.testing.assert_allclose(got.astype(np.float64), reference_segment_sum(data.astype(np.float64), ids, 5))


@pytest.mark.parametrize(
    "target, mode, trailing",
    [("tf", "graph", (1,)), ("tf", "xla", ()), ("keras", "xla", ()), ("jax", "jit", ())],
    ids=["tf-graph-rows", "tf-xla", "keras-xla", "jax-jit"],
)
def test_a_float_sum_of_ones_keeps_growing_past_2_to_the_24(target, mode, trailing):
    """XLA's scatter and the CPU kernels add one value at a time: 2**24 + 1000 float32 ones summed into one
    segment gave 2**24 (16,777,216) before the sums were taken in runs (in a graph, rows of one value: the
    one-number-per-id bincount was exact)."""
    count = 2**24 + 1000
    data, ids = np.ones((count,) + trailing, np.float32), np.zeros(count, np.int32)
    got = segment_sum_runs(target, mode)(target_helpers(target), data, ids, 2)
    assert got.ravel().tolist() == [float(count), 0.0]
