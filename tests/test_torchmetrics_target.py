"""The torchmetrics target: every shipped spec as a torchmetrics.Metric, against the same independent references
as the Keras targets (numpy, scikit-learn), against torchmetrics' own built-ins where one computes the same
value, through update/compute, forward, reset and merge_state, and synced over torch.distributed (gloo, two
processes on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the torchmetrics target needs torch: pip install -e '.[test-backends]'")
torchmetrics = pytest.importorskip("torchmetrics", reason="pip install -e '.[test-backends]' installs torchmetrics")

from metric_cases import CASES, Case, batches, emphasise_positives_np  # noqa: E402
from metricgen.compiler import generate_from_text  # noqa: E402
from support import GENERATED, ROOT, in_torchmetrics_order, load_module, target_helpers  # noqa: E402


def emphasise_positives_torch(y_true, y_pred):
    """The WeightedMetric tests' weight function, in torch (the Keras cases pass a keras.ops one)."""
    return 1.0 + 2.0 * (y_true > 0.5).to(y_pred.dtype)


def new(case: Case, **overrides):
    module = load_module(GENERATED / "torchmetrics" / f"{case.stem}.py", f"tm_{case.stem}")
    kwargs = {**case.kwargs, **overrides}
    if case.stem == "weighted_metric":
        kwargs["weight_function"] = emphasise_positives_torch
    return getattr(module, case.class_name)(**kwargs)


def as_torch(case: Case, batch: dict) -> list:
    """The batch's inputs as torch tensors, in the order update(preds, target, ...) takes them."""
    return in_torchmetrics_order({name: torch.as_tensor(batch[name]) for name in case.inputs})


def reference(case: Case, whole: dict, weights):
    return float(case.reference(whole, weights, case.kwargs))


def close(case: Case, actual, expected, what: str = "") -> None:
    np.testing.assert_allclose(float(actual), expected, rtol=case.rtol, atol=case.atol, err_msg=what)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_matches_the_reference_over_several_batches(case, weighted):
    parts, weights, whole, all_weights = batches(case, np.random.default_rng(5), (7, 1, 5), weighted)
    metric = new(case)
    for batch, w in zip(parts, weights):
        metric.update(*as_torch(case, batch), sample_weight=None if w is None else torch.as_tensor(w))
    close(case, metric.compute(), reference(case, whole, all_weights))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_forward_gives_each_batch_value_and_accumulates(case):
    parts, weights, whole, all_weights = batches(case, np.random.default_rng(6), (30, 20, 25), weighted=True)
    metric = new(case)
    for batch, w in zip(parts, weights):
        batch_value = metric(*as_torch(case, batch), sample_weight=torch.as_tensor(w))
        close(case, batch_value, reference(case, batch, w), "forward's batch value")
    close(case, metric.compute(), reference(case, whole, all_weights), "accumulated after forward")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_reset_starts_over_and_merge_state_combines_shards(case):
    parts, weights, whole, all_weights = batches(case, np.random.default_rng(7), (30, 20, 25), weighted=True)
    metric = new(case)
    metric.update(*as_torch(case, parts[1]), sample_weight=torch.as_tensor(weights[1]))
    metric.reset()
    metric.update(*as_torch(case, parts[0]), sample_weight=torch.as_tensor(weights[0]))
    close(case, metric.compute(), reference(case, parts[0], weights[0]), "after reset")
    shards = [new(case), new(case)]
    shards[1].update(*as_torch(case, parts[1]), sample_weight=torch.as_tensor(weights[1]))
    shards[1].update(*as_torch(case, parts[2]), sample_weight=torch.as_tensor(weights[2]))
    metric.merge_state(shards[1])
    close(case, metric.compute(), reference(case, whole, all_weights), "merged")
    metric.merge_state(shards[0])  # an empty shard changes nothing
    close(case, metric.compute(), reference(case, whole, all_weights), "merged with an empty shard")


def by_stem(stem: str) -> Case:
    return next(c for c in CASES if c.stem == stem)


BUILT_INS = {
    "stateful_f1": lambda: torchmetrics.classification.BinaryF1Score(threshold=0.5),
    "running_average_precision": lambda: torchmetrics.classification.BinaryPrecision(threshold=0.5),
    # hard masks: Dice is F1 over the pixels (the smooth term 1e-7 is far below the tolerance)
    "dice": lambda: torchmetrics.classification.BinaryF1Score(threshold=0.5),
}


@pytest.mark.parametrize("stem", sorted(BUILT_INS))
def test_equals_the_torchmetrics_built_in(stem):
    """torchmetrics' built-ins count a score as positive at >= threshold, ours above it: random scores never
    sit exactly on 0.5, so the two agree to float precision."""
    case = by_stem(stem)
    rng = np.random.default_rng(8)
    ours, theirs = new(case), BUILT_INS[stem]()
    for n in (9, 1, 13):
        batch = case.make(rng, n)
        if stem == "dice":
            batch["y_pred"] = (batch["y_pred"] > 0.5).astype(np.float32)  # hard masks
        ours.update(*as_torch(case, batch))
        theirs.update(torch.as_tensor(batch["y_pred"]).reshape(-1), torch.as_tensor(batch["y_true"]).reshape(-1).int())
    np.testing.assert_allclose(float(ours.compute()), float(theirs.compute()), rtol=1e-6, atol=1e-6)


def test_mean_average_precision_is_torchmetrics_multilabel_average_precision():
    """Against MultilabelAveragePrecision (exact curve): the difference is our 200-bucket discretisation."""
    case = by_stem("mean_average_precision")
    rng = np.random.default_rng(9)
    ours = new(case)
    theirs = torchmetrics.classification.MultilabelAveragePrecision(num_labels=5, average="macro", thresholds=None)
    for n in (40, 25):
        batch = case.make(rng, n)
        ours.update(*as_torch(case, batch))
        theirs.update(torch.as_tensor(batch["y_pred"]), torch.as_tensor(batch["y_true"]).int())
    np.testing.assert_allclose(float(ours.compute()), float(theirs.compute()), atol=5e-3)


def test_class_attributes_say_what_torchmetrics_needs():
    f1, loss = new(by_stem("stateful_f1")), new(by_stem("weighted_loss"))
    assert f1.higher_is_better is True and loss.higher_is_better is False
    assert f1.is_differentiable is False  # thresholds
    assert f1.full_state_update is False  # add state from zero: forward merges batch states cheaply
    assert {name: fx.__name__ for name, fx in f1._reductions.items()} == {
        "true_positives": "dim_zero_sum",
        "false_positives": "dim_zero_sum",
        "false_negatives": "dim_zero_sum",
    }


SPREAD = """
name: spread
class_name: Spread
description: largest minus smallest value seen, and their count
higher_is_better: false
inputs: [{name: x}]
state:
  highest: {init: -.inf, fold: max}
  lowest: {init: .inf, fold: min}
  count: {dtype: int32}
update:
  highest: max(x)
  lowest: min(x)
  count: size(x)
result: (highest - lowest) * 1000 + count
"""


def spread_reference(x: np.ndarray) -> float:
    return (x.max() - x.min()) * 1000 + x.size


def test_max_min_and_int_state_with_forward_reset_and_merge(tmp_path):
    path = tmp_path / "spread.py"
    path.write_text(generate_from_text(SPREAD, "spread.yaml", "torchmetrics"), encoding="utf-8")
    Spread = load_module(path, "tm_spread").Spread
    assert Spread.is_differentiable is False and Spread.full_state_update is False
    rng = np.random.default_rng(10)
    parts = [rng.normal(size=n).astype(np.float32) for n in (5, 0, 3)]  # an empty batch in the middle
    metric = Spread()
    for part in parts:
        metric(torch.as_tensor(part))
    np.testing.assert_allclose(float(metric.compute()), spread_reference(np.concatenate(parts)), rtol=1e-6)
    assert metric.count.dtype == torch.int32
    other = Spread()
    other.update(torch.as_tensor([100.0, -100.0]))
    metric.merge_state(other)
    np.testing.assert_allclose(
        float(metric.compute()), spread_reference(np.concatenate(parts + [np.array([100.0, -100.0])]))
    )
    metric.reset()
    assert float(metric.highest) == -np.inf and float(metric.lowest) == np.inf and int(metric.count) == 0


# two states, each updated with one value of `squared` only: torchmetrics registers the one updated
SPLIT = """
name: split_sum
class_name: SplitSum
description: the sum of the values, or of their squares
params:
  squared: {type: bool, default: false}
inputs: [{name: x}]
state:
  total: {doc: "Σ x (squared False)"}
  squares: {doc: "Σ x² (squared True)"}
update:
  total: sum(x) if not squared else None
  squares: sum(x * x) if squared else None
result: squares if squared else total
"""


def split_reference(x: np.ndarray, squared: bool) -> float:
    return float(np.sum(x.astype(np.float64) ** 2 if squared else x))


@pytest.mark.parametrize("squared", [False, True])
def test_a_state_updated_with_some_arguments_only_is_registered_with_them_only(tmp_path, squared):
    """With the other arguments it is a constant: not in metric_state, not reset, merged or synced (the gloo
    test below syncs SplitSum too); the numbers through update, forward, reset and merge_state are numpy's."""
    path = tmp_path / "split_sum.py"
    path.write_text(generate_from_text(SPLIT, "split_sum.yaml", "torchmetrics"), encoding="utf-8")
    SplitSum = load_module(path, "tm_split_sum").SplitSum
    kept, constant = ("squares", "total") if squared else ("total", "squares")
    rng = np.random.default_rng(12)
    parts = [rng.normal(size=n).astype(np.float32) for n in (4, 1, 6)]
    metric = SplitSum(squared=squared)
    assert list(metric.metric_state) == [kept]
    assert constant not in dict(metric.state_dict()) and float(getattr(metric, constant)) == 0.0
    for part in parts:
        batch_value = metric(torch.as_tensor(part))
        np.testing.assert_allclose(float(batch_value), split_reference(part, squared), rtol=1e-5)
    np.testing.assert_allclose(float(metric.compute()), split_reference(np.concatenate(parts), squared), rtol=1e-5)
    other = SplitSum(squared=squared)
    other.update(torch.as_tensor(parts[0]))
    metric.merge_state(other)
    metric.merge_state(dict(other.metric_state))  # a dict of the states registered is enough
    np.testing.assert_allclose(
        float(metric.compute()), split_reference(np.concatenate(parts + parts[:1] * 2), squared), rtol=1e-5
    )
    metric.reset()
    metric.update(torch.as_tensor(parts[1]))
    np.testing.assert_allclose(float(metric.compute()), split_reference(parts[1], squared), rtol=1e-5)
    metric.set_dtype(torch.float64)  # the constant moves with the states, as .to(device) moves it
    assert getattr(metric, kept).dtype == getattr(metric, constant).dtype == torch.float64
    # a parent module's .half() converts buffers, and torchmetrics keeps the states' dtype: the constant too
    torch.nn.ModuleDict({"metric": metric}).half()
    assert getattr(metric, kept).dtype == getattr(metric, constant).dtype == torch.float64


WORKER = """
import json, os, sys
import numpy as np
import torch
import torch.distributed as dist
sys.path.insert(0, {tests!r})
from support import load_module

def main(rank, world, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world, timeout=__import__("datetime").timedelta(seconds=60))
    data = np.load({data!r})
    results = {{}}
    for name, path, cls in {metrics!r}:
        metric = getattr(load_module(__import__("pathlib").Path(path), "dist_" + name), cls)()
        for key in sorted(k for k in data.files if k.startswith(name + "_" + str(rank) + "_")):
            inputs = [torch.as_tensor(a) for a in data[key]]
            metric.update(*inputs)
        results[name] = float(metric.compute())
    with open(out + str(rank), "w") as handle:
        json.dump(results, handle)
    dist.destroy_process_group()

if __name__ == "__main__":
    torch.multiprocessing.spawn(main, args=(2, int(sys.argv[1]), sys.argv[2]), nprocs=2)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_compute_is_the_all_process_value_under_torch_distributed(tmp_path):
    """Two gloo processes update on uneven shares (process 1 gets one sample of Dice, and nothing of Spread);
    compute() on each, synced by torchmetrics, is the single-process value and the numpy reference. SplitSum
    syncs its one registered state beside a constant."""
    spread_path = tmp_path / "spread.py"
    spread_path.write_text(generate_from_text(SPREAD, "spread.yaml", "torchmetrics"), encoding="utf-8")
    split_path = tmp_path / "split_sum.py"
    split_path.write_text(generate_from_text(SPLIT, "split_sum.yaml", "torchmetrics"), encoding="utf-8")
    dice = by_stem("dice")
    rng = np.random.default_rng(11)
    masks = dice.make(rng, 9)
    values = rng.normal(size=11).astype(np.float32)
    arrays = {
        "dice_0_0": np.stack([masks["y_pred"][:5], masks["y_true"][:5]]),  # update(preds, target)
        "dice_0_1": np.stack([masks["y_pred"][5:8], masks["y_true"][5:8]]),
        "dice_1_0": np.stack([masks["y_pred"][8:], masks["y_true"][8:]]),
        "spread_0_0": values[None, :7],
        "spread_0_1": values[None, 7:],
        "split_0_0": values[None, :3],
        "split_1_0": values[None, 3:],
    }
    np.savez(tmp_path / "data.npz", **arrays)
    metrics = [
        ("dice", str(GENERATED / "torchmetrics" / "dice.py"), "DiceCoefficient"),
        ("spread", str(spread_path), "Spread"),
        ("split", str(split_path), "SplitSum"),
    ]
    script = tmp_path / "worker.py"
    script.write_text(
        WORKER.format(tests=str(ROOT / "tests"), data=str(tmp_path / "data.npz"), metrics=metrics), encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MASTER_", "WORLD_", "RANK", "LOCAL_RANK"))}
    done = subprocess.run(
        [sys.executable, str(script), str(free_port()), str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    single = new(dice)
    single.update(torch.as_tensor(masks["y_pred"]), torch.as_tensor(masks["y_true"]))
    expected = {
        "dice": dice.reference(masks, None, {}),
        "spread": spread_reference(values),
        "split": split_reference(values, squared=False),
    }
    for rank in (0, 1):
        got = json.loads((tmp_path / f"out{rank}").read_text())
        np.testing.assert_allclose(got["dice"], float(single.compute()), rtol=1e-6)
        for name in ("dice", "spread", "split"):
            np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, err_msg=f"{name} on process {rank}")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device visible to torch: the CPU runs above")
@pytest.mark.parametrize("case", CASES[:4], ids=[c.id for c in CASES[:4]])
def test_runs_on_cuda(case):
    parts, weights, whole, all_weights = batches(case, np.random.default_rng(12), (7, 5), weighted=True)
    metric = new(case).to("cuda")
    for batch, w in zip(parts, weights):
        metric.update(*[a.cuda() for a in as_torch(case, batch)], sample_weight=torch.as_tensor(w).cuda())
    result = metric.compute()
    assert result.device.type == "cuda"
    close(case, result.cpu(), reference(case, whole, all_weights))


def test_emphasise_positives_twins_agree():
    t = np.array([0.2, 0.9], np.float32)
    np.testing.assert_allclose(
        emphasise_positives_torch(torch.as_tensor(t), torch.as_tensor(t)).numpy(), emphasise_positives_np(t, t)
    )


def test_generated_module_imports_torch_and_torchmetrics_only():
    import ast

    for path in sorted((GENERATED / "torchmetrics").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
        assert imported <= {"torch", "torchmetrics", "numbers"}, (path.name, imported)


def test_spec_text_in_a_torchmetrics_module_stays_data():
    spec = textwrap.dedent('''
        name: m
        class_name: M
        description: 'ends with """; import os'
        params:
          mode: {type: str, default: a, choices: [a, "{__import__('os').getcwd()}"]}
        state:
          s: {}
        update:
          s: sum(y_pred)
        result: s
        ''')
    source = generate_from_text(spec, "m.yaml", "torchmetrics")
    namespace: dict = {}
    exec(compile(source, "m.py", "exec"), namespace)
    with pytest.raises(ValueError, match=r"\{__import__"):
        namespace["M"](mode="b")


TFA = ROOT / "catalogue" / "tfa" / "generated" / "torchmetrics"


def tfa_class(stem: str, name: str):
    return getattr(load_module(TFA / f"{stem}.py", f"tm_tfa_{stem}"), name)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_equals_multiclass_cohen_kappa(weights):
    rng = np.random.default_rng(13)
    ours = tfa_class("cohen_kappa", "CohenKappa")(num_classes=4, sparse_labels=True, weightage=weights)
    theirs = torchmetrics.classification.MulticlassCohenKappa(num_classes=4, weights=weights)
    for n in (30, 1, 17):
        truth, predicted = torch.as_tensor(rng.integers(0, 4, n)), torch.as_tensor(rng.integers(0, 4, n))
        ours.update(predicted, truth)
        theirs.update(predicted, truth)
    np.testing.assert_allclose(float(ours.compute()), float(theirs.compute()), atol=1e-5)


def test_mcc_equals_multiclass_matthews_corr_coef():
    rng = np.random.default_rng(14)
    ours = tfa_class("matthews_correlation_coefficient", "MatthewsCorrelationCoefficient")(num_classes=4)
    theirs = torchmetrics.classification.MulticlassMatthewsCorrCoef(num_classes=4)
    for n in (25, 1, 12):
        truth, scores = rng.integers(0, 4, n), rng.uniform(size=(n, 4)).astype(np.float32)
        ours.update(torch.as_tensor(scores), torch.as_tensor(np.eye(4, dtype=np.float32)[truth]))
        theirs.update(torch.as_tensor(scores).argmax(-1), torch.as_tensor(truth))
    np.testing.assert_allclose(float(ours.compute()), float(theirs.compute()), atol=1e-5)


@pytest.mark.parametrize("multioutput", ["uniform_average", "raw_values", "variance_weighted"])
def test_r_square_equals_r2_score(multioutput):
    rng = np.random.default_rng(15)
    ours = tfa_class("r_square", "RSquare")(multioutput=multioutput)  # 3 outputs: from the first batch
    theirs = torchmetrics.R2Score(multioutput=multioutput)
    for n in (20, 7):
        y = rng.normal(size=(n, 3)).astype(np.float32)
        p = (y + rng.normal(scale=0.5, size=(n, 3))).astype(np.float32)
        ours.update(torch.as_tensor(p), torch.as_tensor(y))
        theirs.update(torch.as_tensor(p), torch.as_tensor(y))
    np.testing.assert_allclose(ours.compute().numpy(), theirs.compute().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(40,), (40, 3)], ids=["one_number_per_id", "rows_per_id"])
@pytest.mark.parametrize("grad", [False, True], ids=["no_grad", "requires_grad"])
def test_segment_sum_drops_ids_out_of_range_on_both_of_its_paths(shape, grad):
    """The helper sums by bincount (one number per id, no gradient) or by index_add (rows, or a gradient to
    keep): both are numpy's sum per id, ids below 0 and from num_segments on dropped."""
    helpers = target_helpers("torchmetrics")
    rng = np.random.default_rng(3)
    ids = rng.integers(-2, 7, 40).astype(np.int32)
    data = rng.normal(size=shape).astype(np.float32)
    expected = np.stack([data[ids == i].sum(axis=0) for i in range(5)])
    tensor = torch.tensor(data, requires_grad=grad)
    got = helpers._segment_sum(tensor, torch.tensor(ids), 5)
    assert got.dtype == torch.float32 and got.requires_grad == grad
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_counts_and_sums_keep_growing_past_what_their_dtype_adds_one_at_a_time():
    """index_add adds one value at a time, and a float16 total of ones stops at 2048 (float32's at 2**24): the
    counts are taken in int64 on both of their paths (bincount on the CPU, index_add elsewhere: run here by
    taking the device test out), and a sum of that many values in float64."""
    device_test = 'ids.device.type == "cpu"'
    assert (ROOT / "templates" / "helpers_torch.py").read_text().count(device_test) == 1
    for path, edits in (("cpu", {}), ("other devices", {device_test: "False"})):
        ids = torch.zeros(3000, dtype=torch.int64)
        counted = target_helpers("torchmetrics", edits)._count_ids(ids, 2, torch.float16)
        assert counted.tolist() == [3000.0, 0.0], path
    ones = torch.ones(3000, dtype=torch.float16, requires_grad=True)  # a gradient: the index_add path
    summed = target_helpers("torchmetrics")._segment_sum(ones, torch.zeros(3000, dtype=torch.int64), 2)
    assert summed.dtype == torch.float16 and summed.tolist() == [3000.0, 0.0]
