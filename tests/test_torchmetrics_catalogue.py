"""The torchmetrics catalogue (catalogue/torchmetrics/specs/): specs of torchmetrics' classes with the same class
names, constructor parameters and defaults. Every class is run against torchmetrics' own class with the same
arguments: on the torchmetrics target as a drop-in (update(preds, target), compute(), reset), and on the Keras
targets (update_state(y_true, y_pred), result()) on the same data; then forward, merge_state, the constructors'
signatures, the keras target under JAX and PyTorch, sample weights on the Keras targets against numpy, and two
gloo processes under torch.distributed."""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import inspect
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torchmetrics

from conftest import ROOT, tf
from metricgen.compiler import compile_file
from support import in_torchmetrics_order, largest_tensor_made, load_module
from drivers import driver
from torchmetrics_catalogue_cases import CASES, Case, first_of_each_class, under_other_backends
from torchmetrics_catalogue_run import batches, torchmetrics_class

CATALOGUE = ROOT / "catalogue" / "torchmetrics"
SPECS = sorted((CATALOGUE / "specs").glob("*.yaml"))
from conftest import EVERY_TARGET as TARGETS  # noqa: E402  (every registered target)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_generated_modules_are_up_to_date(spec, target):
    compiled = compile_file(spec, CATALOGUE / "generated", target)
    assert compiled.ok, compiled.errors
    assert (
        compiled.output.read_text(encoding="utf-8") == compiled.source
    ), f"run `cd catalogue/torchmetrics && metricgen build --target {target} specs/`"


def test_every_spec_has_a_case():
    assert {s.stem for s in SPECS} <= {c.stem for c in CASES}


def generated_class(case: Case, target: str):
    folder = CATALOGUE / "generated" / ("" if target == "tf" else target)
    module = load_module(folder / f"{case.stem}.py", f"torchmetrics_catalogue_{target}_{case.stem}")
    return getattr(module, case.class_name)


def torch_inputs(batch: dict) -> tuple:
    """A batch in torchmetrics' order: update(preds, target, *others) (the retrieval classes' indexes)."""
    return tuple(in_torchmetrics_order({name: torch.as_tensor(value) for name, value in batch.items()}))


def torchmetrics_value(case: Case, parts: list[dict]) -> np.ndarray:
    reference = torchmetrics_class(case)(**case.kwargs)
    for batch in parts:
        reference.update(*torch_inputs(batch))
    return reference.compute().double().numpy()


def close(got, expected, case: Case):
    np.testing.assert_allclose(
        np.asarray(got, dtype=np.float64), expected, rtol=case.tolerance, atol=case.tolerance, equal_nan=True
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_torchmetrics_target_is_a_drop_in(case):
    parts = batches(case)
    metric = generated_class(case, "torchmetrics")(**case.ours)
    for batch in parts:
        metric.update(*torch_inputs(batch))
    expected = torchmetrics_value(case, parts)
    got = metric.compute()
    assert tuple(got.shape) == expected.shape
    close(got.double().numpy(), expected, case)
    metric.reset()
    metric.update(*torch_inputs(parts[0]))
    close(metric.compute().double().numpy(), torchmetrics_value(case, parts[:1]), case)


# every case on the keras target (eager); on the first case of each class, the tf target (compiled with XLA) and
# the jax target in turn, a class each: a representative matrix within the suite's time (XLA compiles and JAX's
# eager dispatch dominate it; every case runs on the torchmetrics and keras targets, and the weighted cases on
# the jax target below)
KERAS_RUNS = [(case, "keras") for case in CASES if case.keras]
KERAS_RUNS += [(case, ("tf", "jax")[n % 2]) for n, case in enumerate(c for c in first_of_each_class() if c.keras)]


@pytest.mark.parametrize("case, target", KERAS_RUNS, ids=[f"{c.id}-{t}" for c, t in KERAS_RUNS])
def test_keras_and_jax_targets_give_torchmetrics_numbers(case, target):
    """update(y_true, y_pred) in the spec's order, on the targets other than torchmetrics', driven each its own
    way (tests/drivers.py): several batches, then reset and one batch."""
    drive = driver(target)
    parts = batches(case)
    metric = drive.make(generated_class(case, target), **case.ours)
    for batch in parts:
        drive.update(metric, batch, compiled=target == "tf")
    close(drive.result(metric), torchmetrics_value(case, parts), case)
    drive.reset(metric)
    drive.update(metric, parts[0])
    close(drive.result(metric), torchmetrics_value(case, parts[:1]), case)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_forward_gives_torchmetrics_batch_values_and_keeps_accumulating(case):
    parts = batches(case)
    ours, reference = generated_class(case, "torchmetrics")(**case.ours), torchmetrics_class(case)(**case.kwargs)
    for batch in parts:
        close(ours(*torch_inputs(batch)).double().numpy(), reference(*torch_inputs(batch)).double().numpy(), case)
    close(ours.compute().double().numpy(), torchmetrics_value(case, parts), case)


def sorts(case: Case) -> bool:
    """Whether the class's torchmetrics module sorts (argsort, sort or rankdata: _argsort's radix path)."""
    source = (CATALOGUE / "generated" / "torchmetrics" / f"{case.stem}.py").read_text(encoding="utf-8")
    return any(f"{helper}(" in source.split("\nclass ", 1)[1] for helper in ("_argsort", "_sort", "_rankdata"))


SORTING = [case for case in first_of_each_class() if sorts(case)]


@pytest.mark.parametrize("case", SORTING, ids=[c.id for c in SORTING])
def test_sorts_long_enough_for_a_radix_sort_give_torchmetrics_numbers(case):
    """torch's CPU sort takes a radix sort from 32,768 elements of one axis, and the torchmetrics target's sorts
    then sort keys of their own (templates/helpers_torch.py _argsort): a sample buffer of 40,000 rows holding
    33,001, against torchmetrics' class on the same batches."""
    rng = np.random.default_rng(11)
    parts = [case.make(rng, n) for n in (20000, 1, 13000)]
    cls = generated_class(case, "torchmetrics")
    bound = {"max_samples": 40000} if "max_samples" in inspect.signature(cls).parameters else {}
    ours = cls(**{**case.ours, **bound})
    for batch in parts:
        ours.update(*torch_inputs(batch))
    close(ours.compute().double().numpy(), torchmetrics_value(case, parts), case)


BUFFERED = [case for case in first_of_each_class() if "max_samples" in case.ours]


@pytest.mark.parametrize("case", BUFFERED, ids=[c.id for c in BUFFERED])
def test_a_sample_buffer_costs_the_rows_it_holds_not_its_capacity(case):
    """A torchmetrics user who switches the import keeps max_samples at its default, 100,000: reset, update and
    compute of 300 samples make the same tensors at that capacity and at 1,000,000, none of 100,000 elements
    (counted with a TorchDispatchMode, not timed). Read whole, each compute sorted and summed 100,000 rows: 4 ms
    for BinaryAUROC's 1,024 samples, 19 times torchmetrics' own."""
    rng = np.random.default_rng(5)
    parts = [case.make(rng, n) for n in (200, 1, 99)]
    cls = generated_class(case, "torchmetrics")
    largest = {}
    for capacity in (100_000, 1_000_000):
        ours = cls(**{**case.ours, "max_samples": capacity})

        def run():
            ours.reset()
            for batch in parts:
                ours.update(*torch_inputs(batch))
            close(ours.compute().double().numpy(), torchmetrics_value(case, parts), case)

        largest[capacity] = largest_tensor_made(run)
    assert largest[100_000] == largest[1_000_000] < 100_000, largest


@pytest.mark.parametrize("case", BUFFERED, ids=[c.id for c in BUFFERED])
def test_a_buffer_that_holds_nothing_gives_the_fixed_shape_targets_value(case):
    """compute() of nothing held (torchmetrics' own classes raise there) is what the jax target gives for a
    buffer of zero rows: the torchmetrics target reads one row of 0, which the result ignores (a red-team find:
    a cumulative sum or a median of no rows raised)."""
    ours = generated_class(case, "torchmetrics")(**case.ours)
    drive = driver("jax")
    whole = drive.make(generated_class(case, "jax"), **case.ours)
    close(ours.compute().double().numpy(), np.asarray(drive.result(whole), dtype=np.float64), case)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_merge_state_of_shards_is_the_all_data_value(case):
    """Shards fed different batches, one never updated, merge into the value of one metric fed everything, and
    a metric that saw nothing takes a merged one's state whole."""
    parts = batches(case)
    new = functools.partial(generated_class(case, "torchmetrics"), **case.ours)
    first, rest, empty = new(), new(), new()
    first.update(*torch_inputs(parts[0]))
    for batch in parts[1:]:
        rest.update(*torch_inputs(batch))
    first.merge_state([rest, empty])
    expected = torchmetrics_value(case, parts)
    close(first.compute().double().numpy(), expected, case)
    late = new()
    late.merge_state(first)
    close(late.compute().double().numpy(), expected, case)


def parameters(cls, omitted=()) -> list:
    """(name, default) of the constructor's parameters in order, `**kwargs` last; `omitted` left out."""
    signature = inspect.signature(cls.__init__)
    return [(p.name, p.default, p.kind) for p in list(signature.parameters.values())[1:] if p.name not in omitted]


@pytest.mark.parametrize("case", first_of_each_class(), ids=lambda c: c.class_name)
def test_constructor_signature_is_torchmetrics(case):
    """Same names in the same order, same defaults, **kwargs last: a drop-in by position and by keyword. A
    parameter torchmetrics has and the spec cannot honour is listed in `extra["omits"]` (and said in the spec's
    description): passing it fails loudly in torchmetrics.Metric's constructor. A parameter the spec adds (a sample
    buffer's `max_samples`), listed in `extra["adds"]`, comes after torchmetrics' own, just before **kwargs."""
    ours = parameters(generated_class(case, "torchmetrics"))
    theirs = parameters(torchmetrics_class(case), case.extra.get("omits", ()))
    added = [p for p in ours if p[0] in case.extra.get("adds", ())]
    assert ours == theirs[:-1] + added + theirs[-1:]
    assert ours[-1][2] is inspect.Parameter.VAR_KEYWORD


@functools.lru_cache(maxsize=None)
def catalogue_under(backend: str) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    script = Path(__file__).resolve().parent / "torchmetrics_catalogue_run.py"
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-5000:]
    report = json.loads(done.stdout)
    assert report["backend"] == backend
    return report["results"]


FIRST_KERAS = under_other_backends()


@pytest.mark.parametrize("case", FIRST_KERAS, ids=lambda c: c.id)
@pytest.mark.parametrize(
    "backend",
    [
        pytest.param(b, marks=[] if importlib.util.find_spec(b) else [pytest.mark.skip(reason=f"{b} is not installed")])
        for b in ("jax", "torch")
    ],
)
def test_keras_target_under(backend, case):
    """The keras target on JAX and PyTorch, the first configuration of each class, in a subprocess per backend,
    against torchmetrics (here, on the same batches)."""
    result = catalogue_under(backend)[case.id]
    assert "error" not in result, result.get("error")
    parts = batches(case)
    close(result["all"], torchmetrics_value(case, parts), case)
    close(result["first"], torchmetrics_value(case, parts[:1]), case)


def sample_weights(case: Case, parts: list[dict]) -> list[np.ndarray]:
    rng = np.random.default_rng(len(case.id))
    return [rng.uniform(0.2, 2.0, len(batch["y_true"])).astype(np.float32) for batch in parts]


WEIGHTED_RUNS = [(case, target) for case in CASES if case.keras and case.weighted for target in ("keras", "jax")]


@pytest.mark.parametrize("case, target", WEIGHTED_RUNS, ids=[f"{c.id}-{t}" for c, t in WEIGHTED_RUNS])
def test_keras_and_jax_targets_weight_samples_as_the_numpy_reference(case, target):
    """Per-sample weights on the keras and jax targets (torchmetrics' classes take none): the case's independent
    reference, a weighted mean in numpy or scikit-learn's sample_weight."""
    parts = batches(case)
    weights = sample_weights(case, parts)
    drive = driver(target)
    metric = drive.make(generated_class(case, target), **case.ours)
    for batch, w in zip(parts, weights):
        drive.update(metric, batch, sample_weight=w)
    close(drive.result(metric), np.asarray(case.weighted(parts, weights), dtype=np.float64), case)


DISTRIBUTED = (
    "MeanSquaredError-outputs3",
    "R2Score-raw_values-adjusted0",
    "PearsonCorrCoef",
    "PeakSignalNoiseRatio",
    "RetrievalMAP-default",  # sample buffers of two dtypes, and queries split between the processes
    "RetrievalNormalizedDCG-pos-median",
    "BinaryAUROC-ties",  # process 1 gets no batch: its sample buffer, grown as rows come, holds none
    "SpearmanCorrCoef-outputs3",
)
# the process of each batch: process 0 two, process 1 one, unless listed
PROCESSES = {"BinaryAUROC-ties": (0, 0, 0), "SpearmanCorrCoef-outputs3": (0, 1, 1)}

WORKER = """
import json, os, sys
import numpy as np
import torch
import torch.distributed as dist
sys.path.insert(0, {tests!r})
from torchmetrics_catalogue_cases import CASES
from torchmetrics_catalogue_run import GENERATED, load
from support import in_torchmetrics_order

def main(rank, world, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world, timeout=__import__("datetime").timedelta(seconds=60))
    data = np.load({data!r})
    results = {{}}
    for case in [c for c in CASES if c.id in {ids!r}]:
        metric = load(case, GENERATED / "torchmetrics")(**case.ours)
        batches = {{}}  # batch index -> {{input name: tensor}}, in the spec's order
        for key in sorted(k for k in data.files if k.startswith(case.id + "|" + str(rank) + "|")):
            index, position, name = key.split("|")[2:]
            batches.setdefault(int(index), {{}})[(int(position), name)] = torch.as_tensor(data[key])
        for _, inputs in sorted(batches.items()):
            metric.update(*in_torchmetrics_order({{name: v for (_, name), v in sorted(inputs.items())}}))
        results[case.id] = metric.compute().double().numpy().tolist()
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


def test_compute_is_the_all_data_value_under_torch_distributed(tmp_path):
    """Two gloo processes on 127.0.0.1, each fed its own shard of uneven size (process 0 two batches, process 1
    one; or none, or two); compute() on each, synced by torchmetrics, equals torchmetrics' class fed all the data
    in one process."""
    cases = [c for c in CASES if c.id in DISTRIBUTED]
    assert len(cases) == len(DISTRIBUTED)
    arrays, expected = {}, {}
    for case in cases:
        parts = batches(case)
        for index, (rank, batch) in enumerate(zip(PROCESSES.get(case.id, (0, 0, 1)), parts)):
            for position, (name, value) in enumerate(batch.items()):
                arrays[f"{case.id}|{rank}|{index}|{position}|{name}"] = value
        expected[case.id] = torchmetrics_value(case, parts)
    np.savez(tmp_path / "data.npz", **arrays)
    script = tmp_path / "worker.py"
    tests = str(Path(__file__).resolve().parent)
    script.write_text(
        textwrap.dedent(WORKER.format(tests=tests, data=str(tmp_path / "data.npz"), ids=DISTRIBUTED)),
        encoding="utf-8",
    )
    out = str(tmp_path / "result")
    done = subprocess.run(
        [sys.executable, str(script), str(free_port()), out], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-5000:]
    for rank in (0, 1):
        got = json.loads(Path(out + str(rank)).read_text())
        for case in cases:
            close(got[case.id], expected[case.id], case)


RETRIEVAL = [c for c in first_of_each_class() if c.stem.startswith("retrieval_")]


@pytest.mark.parametrize("target", ["keras", "jax"])
@pytest.mark.parametrize("case", RETRIEVAL, ids=lambda c: c.class_name)
def test_retrieval_leaves_out_a_document_of_weight_0(case, target):
    """On the Keras targets a sample weight of 0 leaves a document out (Keras' mask); torchmetrics takes no
    weights, so the reference is its class fed the other documents only."""
    parts = batches(case)
    rng = np.random.default_rng(3)
    weights = [np.where(rng.random(len(b["y_true"])) < 0.3, 0.0, 1.5).astype(np.float32) for b in parts]
    kept = [{name: value[w != 0] for name, value in b.items()} for b, w in zip(parts, weights)]
    drive = driver(target)
    metric = drive.make(generated_class(case, target), **case.ours)
    for batch, w in zip(parts, weights):
        drive.update(metric, batch, sample_weight=w)
    close(drive.result(metric), torchmetrics_value(case, [b for b in kept if len(b["y_true"])]), case)


@pytest.mark.parametrize("case", RETRIEVAL, ids=lambda c: c.class_name)
def test_retrieval_empty_target_action_error_is_nan_where_torchmetrics_raises(case):
    """empty_target_action="error": torchmetrics raises at compute on a query without a relevant (for fall-out:
    without a non-relevant) document; ours cannot raise inside a compiled step, so its result is NaN there, and
    a number where every query has one."""
    empty = 0 if case.class_name != "RetrievalFallOut" else 1  # every document of query 5 alike
    both = {"y_true": np.array([1, 0, empty, empty]), "y_pred": np.array([0.9, 0.1, 0.5, 0.2], np.float32)}
    both["indexes"] = np.array([4, 4, 5, 5])
    reference = torchmetrics_class(case)(empty_target_action="error")
    with pytest.raises(ValueError):
        reference.update(*torch_inputs(both))
        reference.compute()
    kwargs = {**case.ours, "empty_target_action": "error"}
    metric = generated_class(case, "torchmetrics")(**kwargs)
    metric.update(*torch_inputs(both))
    assert np.isnan(metric.compute().item())
    first = {name: value[:2] for name, value in both.items()}
    metric.reset()
    metric.update(*torch_inputs(first))
    close(
        metric.compute().double().numpy(),
        torchmetrics_value(dataclasses.replace(case, kwargs={**case.kwargs, "empty_target_action": "error"}), [first]),
        case,
    )


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("class_name", ["MulticlassAccuracy", "MulticlassF1Score"])
def test_a_top_k_above_num_classes_is_refused_as_torchmetrics_refuses_it(class_name, target):
    """The specs' `checks:`: torchmetrics' constructor raises ValueError for top_k > num_classes, and so does ours,
    on every target, with torchmetrics' message."""
    case = next(c for c in CASES if c.class_name == class_name)
    kwargs = {**case.ours, "num_classes": 3, "top_k": 4}
    with pytest.raises(ValueError, match="top_k") as theirs:
        torchmetrics_class(case)(**kwargs)
    with pytest.raises(ValueError) as ours:
        driver(target).make(generated_class(case, target), **kwargs)
    assert str(ours.value) == f"{class_name}: {theirs.value}"
