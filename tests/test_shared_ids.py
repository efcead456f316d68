"""Sums and counts by ids, as the torchmetrics target writes them after passes/shift_ids_once and
passes/unweighted_counts: ids that several sums share are shifted once (a scope's definition read by each), and
a sum of ones of the ids is their count. Checked against numpy on every target, weighted and not, with ids out of
range on both sides, a sum of rows (torch's index_add path) beside sums of one value per id (bincount), and a
definition already called `ids_shifted`; the work is counted on torch (aten ops), and the optimised torch class
computes exactly what the plain one does. Ids that are None where a param's test fails are not shared (a
red-team review's case), nor is a product with the weights taken for the value alone (its shape may be larger)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EVERY_TARGET, tf  # noqa: F401  (TensorFlow configured for the tests)
from drivers import driver
from metricgen.compiler import generate_from_text
from support import aten_ops_counted, module_of

SPEC = """
name: probe
class_name: Probe
description: d
params:
  n: {type: int, default: 3, min: 1}
state:
  counts: {shape: [n]}
  sums: {shape: [n]}
  rows: {shape: [n, 2]}
  moved: {shape: [n]}
update:
  let:
    # labels 0..5 give ids -1..4: below and past 0..n-1 with n = 3
    ids: cast(y_true, int32) - 1
    w: sample_weights(y_true)
    # a user's name the pass would otherwise take for its shifted ids
    ids_shifted: ids + 1
  counts: bincount(ids, n, weights=w)
  sums: bincount(ids, n, weights=w * y_pred)
  rows: segment_sum(concat(y_pred[..., None], (y_pred + 1.0)[..., None]) * w[..., None], ids, n)
  moved: segment_sum(w * y_pred, ids_shifted, n)
result:
  let:
    parity: arange(n) % 2
    by_parity: segment_sum(sums, parity, 2)
    counted: segment_sum(counts, parity, 2)
    members: segment_sum(ones_like(parity), parity, 2)
  value: >-
    concat(concat(concat(counts, sums), concat(reshape(rows, [-1]), moved)),
    concat(concat(by_parity, counted), cast(members, float)))
"""


def expected(y_true: np.ndarray, y_pred: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    ids = y_true.astype(np.int64) - 1

    def by(ids: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
        return np.array([values[ids == i].sum(axis=0) for i in range(k)], dtype=np.float64)

    counts, sums = by(ids, w, n), by(ids, w * y_pred, n)
    rows = by(ids, np.stack([y_pred, y_pred + 1.0], -1) * w[:, None], n)
    moved = by(ids + 1, w * y_pred, n)
    parity = np.arange(n) % 2
    members = np.array([np.sum(parity == 0), np.sum(parity == 1)], dtype=np.float64)
    return np.concatenate([counts, sums, rows.reshape(-1), moved, by(parity, sums, 2), by(parity, counts, 2), members])


def batch(rng: np.random.Generator, size: int) -> dict:
    return {
        "y_true": rng.integers(0, 6, size).astype(np.float32),
        "y_pred": rng.uniform(-1.0, 2.0, size).astype(np.float32),
    }


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("target", EVERY_TARGET)
def test_sums_by_shared_ids_are_numpys(target, weighted):
    run, rng = driver(target), np.random.default_rng(3)
    metric = run.make(module_of(generate_from_text(SPEC, "p.yaml", target), f"shared_ids_{target}").Probe, n=3)
    seen = []
    for size in (17, 1, 9):
        data = batch(rng, size)
        w = rng.uniform(0.0, 2.0, size).astype(np.float32) if weighted else np.ones(size, np.float32)
        run.update(metric, data, sample_weight=w if weighted else None)
        seen.append((data, w))
    whole = {k: np.concatenate([d[k] for d, _ in seen]) for k in ("y_true", "y_pred")}
    weights = np.concatenate([w for _, w in seen])
    np.testing.assert_allclose(run.result(metric), expected(whole["y_true"], whole["y_pred"], weights, 3), rtol=1e-5)


def torch_classes(spec: str = SPEC, name: str = "shared_ids"):
    """The optimised and the plain torchmetrics class of ``spec``, and the optimised source."""
    plain = generate_from_text(spec, "p.yaml", "torchmetrics", optimise=False)
    optimised = generate_from_text(spec, "p.yaml", "torchmetrics")
    return module_of(optimised, f"{name}_optimised").Probe, module_of(plain, f"{name}_plain").Probe, optimised


def test_the_shared_ids_are_shifted_once_in_each_scope():
    _, _, source = torch_classes()
    update, compute = source.split("def update(", 1)[1].split("def compute(", 1)
    # counts, sums and rows share ids (and the user's `ids_shifted` keeps its name); moved's are its own: one
    # shared shift and one sum that shifts its own ids
    assert "ids_shifted2 = _shifted_ids(ids, self.n)" in update and "ids_shifted = ids + 1" in update, update
    assert update.count("_shifted_ids(") == 1 and update.count("_segment_sum(") == 1, update
    assert compute.count("_shifted_ids(") == 1 and "_count_shifted(" in compute, compute


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_the_work_is_counted_and_the_numbers_are_the_plain_classs(weighted):
    import torch

    optimised, plain, _ = torch_classes()
    rng = np.random.default_rng(4)
    data = {k: torch.as_tensor(v) for k, v in batch(rng, 64).items()}
    w = torch.as_tensor(rng.uniform(0.0, 2.0, 64).astype(np.float32)) if weighted else None
    ops, values = [], []
    for cls in (optimised, plain):
        metric = cls(n=3)
        ops.append(aten_ops_counted(lambda: metric.update(data["y_pred"], data["y_true"], sample_weight=w)))
        values.append(metric.compute())
    torch.testing.assert_close(values[0], values[1], rtol=0, atol=0)
    # the plain update shifts the ids for each of its four sums; the optimised one once for the three that share
    # them, and once for `moved`
    assert (ops[0]["clamp"], ops[1]["clamp"]) == (2, 4), ops


GUARDED = """
name: probe
class_name: Probe
description: d
params:
  k: {type: int, default: null}
state:
  a: {shape: [3]}
  b: {shape: [3]}
update:
  let:
    r: y_pred * 2.0
    # None where k is: the sums that read it are in a branch whose test also reads a definition
    ids: cast(y_true, int32) + k
  a: bincount(ids, 3) if k is not None and rank(r) == 1 else None
  b: bincount(ids, 3, weights=y_pred) if k is not None and rank(r) == 1 else None
result: concat(a, b)
"""

BROADCAST = """
name: probe
class_name: Probe
description: d
inputs:
  - {name: y_true, shape: [null]}
  - {name: y_pred, shape: [null, 3]}
state:
  total: {}
update:
  let:
    ids: cast(y_true, int32)
  # the weights of y_pred's shape times a column: the product is [n, 3], the column [n, 1]
  total: sum(segment_sum(sample_weights(y_pred) * y_true[..., None], ids, 2))
result: total
"""


@pytest.mark.parametrize("k", [None, 1])
def test_ids_that_are_none_where_a_test_fails_are_not_shifted_there(k):
    import torch

    source = generate_from_text(GUARDED, "g.yaml", "torchmetrics")
    assert "_shifted_ids(" not in source.split("def update(", 1)[1], source
    metric = module_of(source, "shared_ids_guarded").Probe(k=k)
    y_true, y_pred = torch.tensor([0.0, 1.0, 1.0, 2.0]), torch.tensor([0.5, 1.0, 2.0, 4.0])
    metric.update(y_pred, y_true)
    expected = [0.0] * 6 if k is None else [0.0, 1.0, 2.0, 0.0, 0.5, 3.0]
    assert metric.compute().tolist() == expected


@pytest.mark.parametrize("target", EVERY_TARGET)
def test_a_product_with_the_weights_keeps_its_shape_unweighted(target):
    run = driver(target)
    metric = run.make(module_of(generate_from_text(BROADCAST, "b.yaml", target), f"shared_ids_bc_{target}").Probe)
    y_true = np.array([0.0, 1.0, 1.0, 0.0], np.float32)
    run.update(metric, {"y_true": y_true, "y_pred": np.ones((4, 3), np.float32)})
    np.testing.assert_allclose(run.result(metric), 3 * y_true.sum())


ELEMENTWISE = """
name: probe
class_name: Probe
description: d
inputs:
  - {name: y_true, shape: [null, null]}
  - {name: y_pred, shape: [null, null]}
state:
  errors: {shape: ["shape(y_true, -1)"]}
  squares: {shape: ["shape(y_true, -1)"]}
update:
  let:
    w: sample_weights(y_true)
    error: y_true - y_pred
  # made element-wise from y_true: without weights, the values alone (no ones, no products)
  errors: sum(w * error, axis=0)
  squares: sum(square(y_true) * w, axis=0)
result: concat(errors, squares)
"""


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_a_weighted_sum_of_values_made_from_the_weights_input_sums_them_alone(weighted):
    import torch

    optimised, plain, _ = torch_classes(ELEMENTWISE, "elementwise")
    rng = np.random.default_rng(6)
    y_true, y_pred = (torch.as_tensor(rng.normal(size=(32, 3)).astype(np.float32)) for _ in range(2))
    w = torch.as_tensor(rng.uniform(0.0, 2.0, 32).astype(np.float32)) if weighted else None
    ops, values = [], []
    for cls in (optimised, plain):
        metric = cls()
        ops.append(aten_ops_counted(lambda: metric.update(y_pred, y_true, sample_weight=w)))
        values.append(metric.compute())
    torch.testing.assert_close(values[0], values[1], rtol=0, atol=0)
    w_np = np.ones(32, np.float32) if w is None else w.numpy()
    t, p = y_true.numpy(), y_pred.numpy()
    expected = np.concatenate([(w_np[:, None] * (t - p)).sum(0), (t**2 * w_np[:, None]).sum(0)])
    np.testing.assert_allclose(values[0].numpy(), expected, rtol=1e-5)
    if not weighted:
        assert (ops[0]["mul"], ops[0]["ones_like"]) == (0, 0) and ops[1]["mul"] == 2, ops


NESTED = """
name: probe
class_name: Probe
description: d
inputs:
  - {name: y_true, shape: [null, null]}
  - {name: y_pred, shape: [null, null]}
state:
  hits: {shape: ["shape(y_true, -1)"]}
  misses: {shape: ["shape(y_true, -1)"]}
update:
  let:
    w: sample_weights(y_true)
    predicted: cast(y_pred > 0.5, float)
  # the weights a factor inside a product of three (first, then second): without weights, the others alone
  hits: sum(w * predicted * y_true, axis=0)
  misses: sum(predicted * w * (1.0 - y_true), axis=0)
result: concat(hits, misses)
"""


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("target", EVERY_TARGET)
def test_weights_inside_a_product_of_several_factors_are_left_out_unweighted(target, weighted):
    """passes/unweighted_sums, on every target: `w * predicted * y_true` (FBetaScore's) sums predicted * y_true
    where update got no weights, with numpy's numbers either way; in TensorFlow's graph the unweighted update
    makes no tensor of ones and one product a sum, as keras.metrics.FBetaScore's does."""
    run = driver(target)
    module = module_of(generate_from_text(NESTED, "n.yaml", target), f"shared_ids_nested_{target}")
    rng = np.random.default_rng(7)
    y_true = rng.integers(0, 2, (16, 3)).astype(np.float32)
    y_pred = rng.uniform(size=(16, 3)).astype(np.float32)
    w = rng.uniform(0.0, 2.0, 16).astype(np.float32) if weighted else None
    metric = run.make(module.Probe)
    run.update(metric, {"y_true": y_true, "y_pred": y_pred}, w)
    each = np.ones(16, np.float32) if w is None else w
    predicted = (y_pred > 0.5).astype(np.float32)
    expected = np.concatenate(
        [(each[:, None] * predicted * y_true).sum(0), (each[:, None] * predicted * (1 - y_true)).sum(0)]
    )
    np.testing.assert_allclose(run.result(metric), expected, rtol=1e-6)
    if target == "tf" and not weighted:
        update = tf.function(lambda a, b: metric.update_state(a, b))
        graph = update.get_concrete_function(tf.constant(y_true), tf.constant(y_pred)).graph
        kinds = [op.type for op in graph.get_operations()]
        assert "Fill" not in kinds and "OnesLike" not in kinds and kinds.count("Mul") == 2, kinds


RESHAPED = """
name: probe
class_name: Probe
description: d
params:
  k: {type: int, default: 3, min: 1}
inputs:
  - {name: y_true, shape: [null]}
  - {name: y_pred, shape: [null]}
state:
  squares: {shape: [k]}
  counts: {shape: [k]}
  kept: {shape: [k, 1]}
  total: {}
update:
  let:
    w: reshape(sample_weights(y_true), [-1, k])
    t: reshape(y_true, [-1, k])
  # the weights reshaped as the values are (RelativeSquaredError's columns): without weights, the values alone,
  # and the weights' own sums a count of what they sum
  squares: sum(w * square(t - reshape(y_pred, [-1, k])), axis=0)
  counts: sum(w, axis=0)
  kept: sum(w, axis=0, keepdims=True)[0][:, None]
  total: sum(w)
result: concat(concat(squares, counts), concat(kept[:, 0], total[None]))
"""


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("target", EVERY_TARGET)
def test_weights_reshaped_as_the_values_are_left_out_and_their_sums_counted(target, weighted):
    """passes/unweighted_sums through a reshape of the weights and the values alike, and passes/unweighted_counts'
    sums of the weights alone (`sum_of_ones`): numpy's numbers on every target, weighted or not; the unweighted
    torch update makes no ones and no product."""
    run = driver(target)
    module = module_of(generate_from_text(RESHAPED, "r.yaml", target), f"shared_ids_reshaped_{target}")
    rng = np.random.default_rng(8)
    y_true, y_pred = (rng.normal(size=12).astype(np.float32) for _ in range(2))
    w = rng.uniform(0.0, 2.0, 12).astype(np.float32) if weighted else None
    metric = run.make(module.Probe)
    run.update(metric, {"y_true": y_true, "y_pred": y_pred}, w)
    each = (np.ones(12, np.float32) if w is None else w).reshape(4, 3)
    counts = each.sum(0)
    squares = (each * (y_true - y_pred).reshape(4, 3) ** 2).sum(0)
    expected = np.concatenate([squares, counts, counts, [each.sum()]])
    np.testing.assert_allclose(run.result(metric), expected, rtol=1e-6)
    if target == "torchmetrics" and not weighted:
        import torch

        ops = aten_ops_counted(lambda: metric.update(torch.as_tensor(y_pred), torch.as_tensor(y_true)))
        assert (ops["mul"], ops["ones_like"], ops["sum"]) == (0, 0, 1), ops


def test_the_count_of_ones_is_torchs_sum_of_ones_and_fails_as_it_does():
    """_sum_of_ones against torch.sum(torch.ones(shape), dim, keepdim), every axis of shapes with 0, 1 and more
    axes (sizes 0 among them), and the errors torch raises for an axis out of range or named twice (a rank the
    spec did not declare is known only then)."""
    import itertools

    import torch

    helper = module_of(generate_from_text(RESHAPED, "r.yaml", "torchmetrics"), "shared_ids_sum_of_ones")._sum_of_ones
    for shape in [(), (0,), (3,), (2, 0), (2, 3), (2, 3, 4), (1, 0, 2)]:
        x = torch.empty(shape)
        axes = list(range(-max(len(shape), 1), max(len(shape), 1)))
        dims = [None, *axes, *itertools.combinations(range(len(shape)), 2)]
        for dim, keepdim in itertools.product(dims, (False, True)):
            expected = torch.ones(shape).sum() if dim is None else torch.ones(shape).sum(dim, keepdim=keepdim)
            if dim is None and keepdim:
                expected = expected.reshape((1,) * len(shape))
            got = helper(x, dim, keepdim, torch.float32)
            assert got.shape == expected.shape and torch.equal(got, expected), (shape, dim, keepdim)
    for dim, error in [(1, IndexError), (-2, IndexError), ((0, 0), RuntimeError), ((0, -1), RuntimeError)]:
        with pytest.raises(error):
            torch.ones(4).sum(dim)
        with pytest.raises(error):
            helper(torch.empty(4), dim, False, torch.float32)
