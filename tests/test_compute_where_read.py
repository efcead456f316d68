"""passes/compute_where_read: a definition read only in one branch of a choice the params make is computed only
where that branch is taken. TweedieDevianceScore (the torchmetrics catalogue) defines four deviances and reads
one, chosen by `power`: with the pass each target's class computes exactly what it computes without it, for
every power, and the update computes only the chosen deviance's logarithms and powers."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EVERY_TARGET, ROOT, tf  # noqa: F401  (TensorFlow configured for the tests)
from drivers import driver
from metricgen import ir
from metricgen.compiler import analyse_loaded, generate
from metricgen.inherit import load_spec
from metricgen.passes import compute_where_read
from metricgen.types import static

TWEEDIE = ROOT / "catalogue" / "torchmetrics" / "specs" / "tweedie_deviance_score.yaml"
POWERS = [0.0, 1.0, 1.5, 2.0, 3.0]


def tweedie_class(tmp_path, target: str, optimise: bool):
    run = driver(target)
    folder = tmp_path / ("optimised" if optimise else "plain") / "out"
    path = folder / run.folder / "tweedie_deviance_score.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(generate(load_spec(TWEEDIE), target, optimise=optimise), encoding="utf-8")
    return run.metric_class(folder, "tweedie_deviance_score", "TweedieDevianceScore")


@pytest.mark.parametrize("target", EVERY_TARGET)
def test_the_pass_keeps_every_number(tmp_path, target):
    run = driver(target)
    optimised, plain = (tweedie_class(tmp_path, target, flag) for flag in (True, False))
    rng = np.random.default_rng(5)
    batch = {
        "y_true": rng.uniform(0.1, 3.0, 16).astype(np.float32),
        "y_pred": rng.uniform(0.1, 3.0, 16).astype(np.float32),
    }
    for power in POWERS:
        values = []
        for cls in (optimised, plain):
            metric = run.make(cls, power=power)
            run.update(metric, batch)
            values.append(run.result(metric))
        np.testing.assert_array_equal(values[0], values[1])


def test_only_the_chosen_deviance_is_computed(tmp_path, monkeypatch):
    """On the torchmetrics target (eager: what runs is what is written), counted: torch.log runs for the Poisson
    and Gamma deviances only, and not at all with power 0, where without the pass every update took three."""
    import torch

    optimised, plain = (tweedie_class(tmp_path, "torchmetrics", flag) for flag in (True, False))
    real = torch.log
    calls = []
    monkeypatch.setattr(torch, "log", lambda *a, **k: calls.append(1) or real(*a, **k))
    preds, target = torch.rand(8) + 0.5, torch.rand(8) + 0.5

    def logs(cls, power) -> int:
        calls.clear()
        cls(power=power).update(preds, target)
        return len(calls)

    assert [logs(optimised, p) for p in (0.0, 1.0, 2.0, 3.0)] == [0, 1, 1, 0]
    assert [logs(plain, p) for p in (0.0, 1.0, 2.0, 3.0)] == [2, 2, 2, 2]


def condition_of(spec_text: str, name: str) -> ir.Expr:
    from metricgen.loader import load_spec_text

    _, metric = analyse_loaded(load_spec_text(spec_text, "probe.yaml"))
    metric = compute_where_read.run(metric)
    return dict(metric.update_locals)[name]


CHOICE = """
name: probe
class_name: Probe
description: d
params:
  mode: {type: str, default: a, choices: [a, b, c]}
state:
  total: {}
update:
  let:
    both: sum(y_pred)
    only_b: sum(y_pred * 2.0)
    either: sum(y_pred * 3.0)
  total: "both if mode == 'a' else (only_b + both if mode == 'b' else either)"
result: total
"""


def test_each_definition_is_guarded_by_where_it_is_read_simplified():
    both = condition_of(CHOICE, "both").cond  # read under a, and under b (there `not a` is implied): a or b
    assert (
        isinstance(both, ir.Operator) and both.op == "or" and [o.operands[1].value for o in both.operands] == ["a", "b"]
    )
    guarded = condition_of(CHOICE, "only_b")
    assert isinstance(guarded, ir.Select) and guarded.orelse == ir.Literal(static("none"), None)
    # `not mode == 'a' and mode == 'b'` is simplified: mode == 'b' excludes mode == 'a'
    assert guarded.cond == ir.Operator(
        static("bool"), "==", (ir.Ref(guarded.cond.operands[0].type, "param", "mode"), ir.Literal(static("str"), "b"))
    )
    either = condition_of(CHOICE, "either").cond  # mode != 'a' and mode != 'b'
    assert isinstance(either, ir.Operator) and either.op == "and" and {o.op for o in either.operands} == {"!="}


ALWAYS_READ = CHOICE.replace("else either)", "else either + both)")  # `both` read under a, b and c


def test_a_definition_read_on_every_path_is_computed_always():
    assert not isinstance(condition_of(ALWAYS_READ, "both"), ir.Select)
