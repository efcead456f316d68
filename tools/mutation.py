#!/usr/bin/env python
"""Mutation testing of metricgen: does the test suite notice when the generator is wrong?

Each mutant is one small, deliberate bug in the registry, the lowering, the type rules, the targets, the
helpers, the param rules, the passes or the CLI (the list MUTANTS below is the documented set of mutation
operators). For each, the repository is copied to a temporary folder, the one edit is applied, every
shipped spec is rebuilt for every target (the tests read the committed modules), and the test files that
cover that part of the generator are run. A mutant is *killed* when a test fails, *survives* otherwise.

    .venv/bin/python tools/mutation.py                 # every mutant (~30-40 min on 2 cores); not part of CI
    .venv/bin/python tools/mutation.py --only promote  # mutants whose id contains 'promote'
    .venv/bin/python tools/mutation.py --list          # the mutation operators

The score and every survivor are recorded in docs/testing.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]
    what: str


SEMANTICS = ("tests/test_semantics.py",)
METRICS = ("tests/test_metrics.py", "tests/test_distributed.py")
TORCH = ("tests/test_torchmetrics_target.py",)

MUTANTS = [
    # -- type rules ----------------------------------------------------------------------------------------
    Mutant(
        "promote-int-float-constant",
        "metricgen/types.py",
        "if ints and not weak_float:",
        "if ints:",
        SEMANTICS,
        "an int tensor times a float constant stays int (truncates)",
    ),
    Mutant(
        "promote-compute-dtype",
        "metricgen/types.py",
        "        if FLOAT in floats:\n            return FLOAT\n",
        "",
        SEMANTICS + METRICS,
        "the metric's float dtype no longer wins over sized floats",
    ),
    Mutant(
        "float-of-int",
        "metricgen/types.py",
        "return dtype if dtype in FLOAT_DTYPES else FLOAT",
        "return dtype",
        SEMANTICS,
        "sqrt of an int stays an int",
    ),
    # -- the function table ----------------------------------------------------------------------------------
    Mutant(
        "keras-argsort-descending",
        "metricgen/functions.py",
        """_static_choice(a.atom("descending"), f"ops.negative({a['x']})", a["x"])""",
        """a["x"]""",
        SEMANTICS,
        "the keras target's argsort ignores descending",
    ),
    Mutant(
        "tf-safe-div",
        "metricgen/functions.py",
        'tf=call("tf.math.divide_no_nan", "a", "b")',
        "tf=lambda a: f\"({a['a']}) / ({a['b']})\"",
        SEMANTICS + METRICS,
        "tf `/` divides by zero",
    ),
    Mutant(
        "tf-cumsum-reverse",
        "metricgen/functions.py",
        ', reverse=given("reverse")),',
        "),",
        SEMANTICS + METRICS,
        "tf cumsum ignores reverse",
    ),
    Mutant(
        "torch-max-is-min",
        "metricgen/functions.py",
        'torchmetrics=call("_extreme", "x", "axis", "keepdims", largest=Code("True"))',
        'torchmetrics=call("_extreme", "x", "axis", "keepdims", largest=Code("False"))',
        SEMANTICS + TORCH,
        "torchmetrics max() takes the minimum",
    ),
    Mutant(
        "torch-argmax-dim",
        "metricgen/functions.py",
        'call("torch.argmax", "x", dim="axis")',
        'call("torch.argmax", "x")',
        SEMANTICS + TORCH,
        "torchmetrics argmax over the flattened tensor",
    ),
    Mutant(
        "weighted-count-dtype",
        "metricgen/functions.py",
        """    (_x(Kind.ANY),),
    compute,
    "Σ w over""",
        """    (_x(Kind.ANY),),
    int32,
    "Σ w over""",
        SEMANTICS + METRICS,
        "weighted_count gives int32 (truncated weights)",
    ),
    # -- lowering and printing -------------------------------------------------------------------------------
    Mutant(
        "power-precedence",
        "metricgen/lowering.py",
        """    "**": 13,""",
        """    "**": 10,""",
        SEMANTICS,
        "** binds like +: `-x ** 2` and `a ** b * c` print wrongly",
    ),
    Mutant(
        "constant-division-guard",
        "metricgen/lowering.py",
        'if not tensor and op in ("/", "//", "%") and not',
        "if False and not",
        SEMANTICS,
        "a constant divided by a zero param raises ZeroDivisionError",
    ),
    Mutant(
        "update-reads-old-state",
        "metricgen/lowering.py",
        "        if reads_state:  # every batch value",
        "        if False:  # every batch value",
        SEMANTICS,
        "an update reads state another update already changed",
    ),
    Mutant(
        "input-cast-skipped",
        "metricgen/lowering.py",
        '            body.append(f"{i.name} = {target.cast(i.name, i.dtype)}")',
        "            pass",
        SEMANTICS + METRICS,
        "inputs are not cast on entry",
    ),
    # -- targets ---------------------------------------------------------------------------------------------
    Mutant(
        "keras-aggregation-mean",
        "metricgen/targets/keras_metric.py",
        'AGGREGATION = {"add": "sum",',
        'AGGREGATION = {"add": "mean",',
        METRICS,
        "add state averages across replicas",
    ),
    Mutant(
        "keras-max-fold-minimum",
        "metricgen/targets/keras_metric.py",
        'extreme = "maximum" if state.fold == "max" else "minimum"',
        'extreme = "minimum"',
        SEMANTICS,
        "max state folds with minimum",
    ),
    Mutant(
        "keras-merge-init-twice",
        "metricgen/targets/keras_metric.py",
        'if s.fold == "add" and s.init != 0:  # the initial',
        "if False:  # the initial",
        SEMANTICS,
        "merge counts an add state's initial value once per shard",
    ),
    Mutant(
        "keras-reset-to-zeros",
        "metricgen/targets/keras_metric.py",
        "if any(s.init != 0 for s in metric.states)\n            else []",
        "if False\n            else []",
        SEMANTICS + METRICS,
        "reset_state is Keras' zeros even for non-zero initial values",
    ),
    Mutant(
        "tf-replica-reduce-dropped",
        "metricgen/targets/tf.py",
        'value = f"_replica_reduce({value}, tf.reduce_{state.fold})"',
        "pass",
        SEMANTICS,
        "max/min state under MirroredStrategy keeps one replica's value",
    ),
    Mutant(
        "torch-max-reduction-sum",
        "metricgen/targets/torchmetrics.py",
        '"max": \'"max"\'',
        '"max": \'"sum"\'',
        TORCH,
        "torchmetrics syncs max state by sum",
    ),
    Mutant(
        "torch-full-state-update",
        "metricgen/targets/torchmetrics.py",
        "full_state_update = reads_state or bool(offset) or",
        "full_state_update = False and",
        TORCH + SEMANTICS,
        "forward merges batch states that cannot be merged",
    ),
    # -- helpers (copied into generated modules) ------------------------------------------------------------
    Mutant(
        "tf-weights-no-squeeze",
        "templates/helpers_tf.py",
        "    if weights.shape.rank == values.shape.rank + 1 and weights.shape[-1] == 1:\n        weights = tf.squeeze(weights, axis=-1)\n",
        "",
        SEMANTICS + METRICS,
        "sample weights with a trailing axis of 1 are not squeezed",
    ),
    Mutant(
        "keras-segment-sum-keeps-ids",
        "templates/helpers_keras.py",
        "ids = ops.where(ops.logical_and(ids >= 0, ids < num_segments), ids, num_segments)",
        "ids = ops.where(ids >= 0, ids, num_segments)",
        SEMANTICS,
        "keras segment_sum keeps ids past the end",
    ),
    Mutant(
        "torch-weights-no-squeeze",
        "templates/helpers_torch.py",
        "    if weights.dim() == values.dim() + 1 and weights.shape[-1] == 1:\n        weights = weights.squeeze(-1)\n",
        "",
        SEMANTICS + TORCH,
        "torch sample weights with a trailing axis of 1 are not squeezed",
    ),
    Mutant(
        "torch-one-hot-range",
        "templates/helpers_torch.py",
        "return (indices.unsqueeze(-1) == torch.arange(depth, device=indices.device)).to(dtype)",
        "return torch.nn.functional.one_hot(indices.long().clamp(0, depth - 1), depth).to(dtype)",
        SEMANTICS,
        "torch one_hot clamps out-of-range indices instead of zero rows",
    ),
    Mutant(
        "keras-cumsum-exclusive",
        "templates/helpers_keras.py",
        "out = ops.concatenate([ops.zeros_like(out[:1]), out[:-1]], axis=0)",
        "out = out - x",
        SEMANTICS,
        "keras exclusive cumsum as cumsum - x (loses small values next to large ones)",
    ),
    # -- params ---------------------------------------------------------------------------------------------
    Mutant(
        "param-min-strict",
        "metricgen/params.py",
        "(self.min is None or v >= self.min)",
        "(self.min is None or v > self.min)",
        ("tests/test_architecture.py", "tests/test_bad_specs.py"),
        "the build-time rule refuses a value equal to min",
    ),
    Mutant(
        "param-bool-not-a-number",
        "metricgen/params.py",
        'parts = [f"isinstance({v}, {kind})", f"not isinstance({v}, bool)"]',
        'parts = [f"isinstance({v}, {kind})"]',
        ("tests/test_architecture.py",) + SEMANTICS,
        "the generated check takes True for a number",
    ),
    # -- analysis ---------------------------------------------------------------------------------------------
    Mutant(
        "unused-let-not-reported",
        "metricgen/analysis/scopes.py",
        "        if name not in scope.local_exprs and name not in scope.visiting and name not in scope.referenced:",
        "        if False:",
        ("tests/test_bad_specs.py",),
        "an unused definition is not reported",
    ),
    Mutant(
        "keyword-names-allowed",
        "metricgen/analysis/names.py",
        '    if keyword.iskeyword(name) or keyword.issoftkeyword(name):\n        return "it is a Python keyword"\n',
        "",
        ("tests/test_bad_specs.py", "tests/test_safety.py"),
        "a state may be called `class`",
    ),
    Mutant(
        "floating-ignored",
        "metricgen/analysis/calls.py",
        "    if function.floating:\n",
        "    if False:\n",
        SEMANTICS,
        "sqrt/mean of ints computed in ints",
    ),
    # -- passes -----------------------------------------------------------------------------------------------
    Mutant(
        "split-sum-ignores-subtract",
        "metricgen/passes/split_weighted_sum.py",
        'subtract = ir.Literal(static("bool"), True) if value.op == "-" else None',
        "subtract = None",
        ("tests/test_architecture.py",) + METRICS,
        "weighted_sum(a - b) becomes Σa + Σb",
    ),
    # -- the CLI --------------------------------------------------------------------------------------------
    Mutant(
        "check-passes-stale",
        "metricgen/cli.py",
        "out of date: run 'metricgen build {again}{options}'\", err=True\n        )\n        sys.exit(EXIT_STALE)",
        "out of date: run 'metricgen build {again}{options}'\", err=True\n        )\n        sys.exit(0)",
        ("tests/test_cli.py",),
        "`check` exits 0 on stale modules",
    ),
    Mutant(
        "test-passes-failures",
        "metricgen/examples.py",
        "        return not self.error and self.result is not None and close_enough(",
        "        return True or not self.error and self.result is not None and close_enough(",
        ("tests/test_cli.py",),
        "`metricgen test` passes a wrong example",
    ),
]


def run_mutant(mutant: Mutant, python: str, timeout: int) -> tuple[str, float, str]:
    """'killed', 'survived' or 'invalid' (the edit did not apply), the seconds it took, and a detail."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="metricgen-mutant-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(
            ROOT, copy, ignore=shutil.ignore_patterns(".venv*", ".git", "__pycache__", ".pytest_cache", ".hypothesis")
        )
        path = copy / mutant.file
        text = path.read_text(encoding="utf-8")
        if text.count(mutant.old) != 1:
            return "invalid", 0.0, f"the text to replace occurs {text.count(mutant.old)} times in {mutant.file}"
        path.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(copy), "TF_CPP_MIN_LOG_LEVEL": "3", "METRICGEN_CACHE_DIR": ""}
        for target in ("tf", "keras", "torchmetrics"):
            built = subprocess.run(
                [python, "-m", "metricgen", "build", "--force", "--target", target, "specs/"],
                cwd=copy,
                env=env,
                capture_output=True,
                text=True,
            )
            if built.returncode != 0:
                return "killed", time.perf_counter() - start, f"metricgen build failed: {built.stderr.strip()[-200:]}"
        try:
            tests = subprocess.run(
                [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *mutant.tests],
                cwd=copy,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return "killed", time.perf_counter() - start, "the tests ran past the time limit"
        last = (tests.stdout.strip().splitlines() or [""])[-1]
        return ("killed" if tests.returncode != 0 else "survived"), time.perf_counter() - start, last


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="run the mutants whose id contains this text")
    parser.add_argument("--list", action="store_true", help="print the mutation operators and exit")
    parser.add_argument("--timeout", type=int, default=900, help="seconds for one mutant's tests")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if args.only in m.id]
    if args.list:
        for m in chosen:
            print(f"{m.id:32} {m.file:40} {m.what}")
        return 0
    results = []
    for m in chosen:
        outcome, seconds, detail = run_mutant(m, sys.executable, args.timeout)
        results.append((m, outcome, seconds, detail))
        print(f"{outcome:9} {m.id:32} {seconds:6.0f} s  {detail}", flush=True)
    killed = sum(r[1] == "killed" for r in results)
    valid = sum(r[1] != "invalid" for r in results)
    print(f"\n{killed} of {valid} mutants killed ({100 * killed / max(valid, 1):.0f}%)")
    for m, outcome, _, detail in results:
        if outcome != "killed":
            print(f"  {outcome}: {m.id} ({m.file}): {m.what}. {detail}")
    return 0 if all(r[1] != "invalid" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
