#!/usr/bin/env python
"""Mutation testing of metricgen: does the test suite notice when the generator is wrong?

Each mutant is one small, deliberate bug in the registry, the lowering, the type rules, the targets, the
helpers, the param rules, the passes or the CLI (the list MUTANTS below is the documented set of mutation
operators). For each, the repository is copied to a temporary folder, the one edit is applied, every
shipped spec is rebuilt for every target (the tests read the committed modules; a catalogue's too where the
mutant runs its tests), and the tests that cover that part of the generator are run, narrowed with -k (a
mutant's list may hold several pytest runs, split by THEN). A mutant is *killed* when a test fails (or the
build does), *survives* otherwise, and is *invalid* where its edit cannot be applied (its text is missing or not
unique: someone changed that line, and the mutant must follow) or its tests select nothing.

    .venv/bin/python tools/mutation.py                 # every mutant (~50 min on 2 cores); not part of CI
    .venv/bin/python tools/mutation.py --second --timeout 300   # the second set (issues 20 and 25), ~20 min
    .venv/bin/python tools/mutation.py --only promote  # mutants whose id contains 'promote'
    .venv/bin/python tools/mutation.py --ids a,b       # these mutants
    .venv/bin/python tools/mutation.py --list          # the mutation operators
    .venv/bin/python tools/mutation.py --check         # does every edit still apply? (no build, no tests)

The score and every survivor are recorded in docs/testing.md. A score measures the suite against the bugs its
author thought of, no more: an independent set of mutants killed 15 of 31 when this set's first 33 scored 33.
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


# Test files that read a catalogue's committed modules: where a mutant runs one, that catalogue is rebuilt too.
CATALOGUES = {"tests/test_keras_catalogue.py": "catalogue/keras", "tests/test_tfa_catalogue.py": "catalogue/tfa"}
THEN = "--then--"  # in a Mutant's tests: what follows is another pytest run (with its own -k)
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
        "metricgen/targets/keras_functions.py",
        """static_choice(a.atom("descending"), f"ops.negative({a['x']})", a["x"])""",
        """a["x"]""",
        SEMANTICS,
        "the keras target's argsort ignores descending",
    ),
    Mutant(
        "tf-safe-div",
        "metricgen/targets/tf_functions.py",
        '"safe_div": call("tf.math.divide_no_nan", "a", "b")',
        "\"safe_div\": lambda a: f\"({a['a']}) / ({a['b']})\"",
        SEMANTICS + METRICS,
        "tf `/` divides by zero",
    ),
    Mutant(
        "tf-cumsum-reverse",
        "metricgen/targets/tf_functions.py",
        ', reverse=given("reverse")),',
        "),",
        SEMANTICS + METRICS,
        "tf cumsum ignores reverse",
    ),
    Mutant(
        "torch-max-is-min",
        "metricgen/targets/torchmetrics_functions.py",
        '"max": lambda a: _extreme(a, largest=True)',
        '"max": lambda a: _extreme(a, largest=False)',
        SEMANTICS + TORCH,
        "torchmetrics max() takes the minimum",
    ),
    Mutant(
        "torch-argmax-dim",
        "metricgen/targets/torchmetrics_functions.py",
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
        '    "add": "sum",\n',
        '    "add": "mean",\n',
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
        "        if any(s.init != 0 for s in metric.states):\n",
        "        if False:\n",
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
        "full_state_update = (\n            reads_state\n",
        "full_state_update = False and (\n            reads_state\n",
        TORCH + SEMANTICS,
        "forward merges batch states that cannot be merged",
    ),
    # -- helpers (copied into generated modules) ------------------------------------------------------------
    Mutant(
        "tf-weights-no-squeeze",
        "templates/helpers_tf.py",
        "    if weights.shape.rank == rank + 1 and weights.shape[-1] == 1:\n        return tf.squeeze(weights, axis=-1)\n",
        "",
        SEMANTICS + METRICS,
        "sample weights with a trailing axis of 1 are not squeezed",
    ),
    Mutant(
        "keras-segment-sum-keeps-ids",
        "templates/helpers_keras.py",
        "ops.logical_and(ids >= 0, ids < num_segments), ids, num_segments",
        "ids >= 0, ids, num_segments",
        SEMANTICS,
        "keras segment_sum keeps ids past the end",
    ),
    Mutant(
        "torch-weights-no-squeeze",
        "templates/helpers_torch.py",
        "    if weights.dim() == values.dim() + 1 and weights.shape[-1] == 1:\n        return weights.squeeze(-1)\n",
        "",
        SEMANTICS + TORCH,
        "torch sample weights with a trailing axis of 1 are not squeezed",
    ),
    Mutant(
        "torch-one-hot-range",
        "templates/helpers_torch.py",
        "return (indices.unsqueeze(-1) == torch.arange(depth, device=indices.device)).to(\n        dtype\n    )",
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
    Mutant(
        "layout-ternary-unwrapped",
        "metricgen/layout.py",
        "        if not wrapped:\n            self.open(",
        "        if False:\n            self.open(",
        ("tests/test_layout.py",),
        "a conditional expression without black's invisible parentheses: split other than black splits it",
    ),
    Mutant(
        "layout-power-never-hugged",
        "metricgen/layout.py",
        "            and _simple_operand(leaves, index + 1, 1)\n",
        "            and False\n",
        ("tests/test_layout.py",),
        "x ** 2 where black writes x**2",
    ),
    Mutant(
        "layout-no-second-opinion",
        "metricgen/layout.py",
        "    if all(_short_enough(ln) for ln in second_opinion):",
        "    if False:",
        ("tests/test_layout.py",),
        "the right-hand split without black's second try with the optional parentheses kept",
    ),
    Mutant(
        "static-mask-any-shape",
        "metricgen/passes/split_static_mask.py",
        "            return shape == () or (shape is not None and any(",
        "            return True or (shape is not None and any(",
        ("tests/test_split_static_mask.py",),
        "where(p is None or c, 1.0, 0.0) is 1.0 where p is None: the mask's axes are lost",
    ),
    Mutant(
        "static-mask-undecided",
        "metricgen/passes/split_static_mask.py",
        "lambda x: x.orelse if isinstance(x, ir.Select) and x.cond == test else x",
        "lambda x: x.then if isinstance(x, ir.Select) and x.cond == test else x",
        ("tests/test_split_static_mask.py",),
        "a mask written in the where is taken as ones where its param is given",
    ),
    Mutant(
        "static-mask-other-branch-unchecked",
        "metricgen/passes/split_static_mask.py",
        "not (adds_no_axes(mask, a) and adds_no_axes(b, a))",
        "not adds_no_axes(mask, a)",
        ("tests/test_split_static_mask.py",),
        "where(kept, a, b) with b of more axes than a is a where p is None",
    ),
    Mutant(
        "static-mask-sources-through-calls",
        "metricgen/passes/split_static_mask.py",
        "    if isinstance(e, ir.Apply) and e.function in ELEMENT_WISE:",
        "    if isinstance(e, ir.Apply):",
        ("tests/test_split_static_mask.py",),
        "a reduction's input taken for a source of its shape",
    ),
    # -- the CLI --------------------------------------------------------------------------------------------
    Mutant(
        "check-passes-stale",
        "metricgen/cli.py",
        "out of date: run 'metricgen build{again}{options}'\", err=True\n        )\n        sys.exit(EXIT_STALE)",
        "out of date: run 'metricgen build{again}{options}'\", err=True\n        )\n        sys.exit(0)",
        ("tests/test_cli.py",),
        "`check` exits 0 on stale modules",
    ),
    Mutant(
        "test-passes-failures",
        "metricgen/examples.py",
        "        return all(close_enough(r, e, self.tolerance)",
        "        return True or all(close_enough(r, e, self.tolerance)",
        ("tests/test_cli.py",),
        "`metricgen test` passes a wrong example",
    ),
]


# -- the second set (issues 20 and 25): target internals, merges, promotion, the format cache, first-batch state,
# narrowing, the cost model, the loader and the docs. Each names the tests that should kill it, narrowed with -k
# where a whole file would cost minutes.
RIGHT = "tests/test_right_or_error.py"
NARROWING = "tests/test_narrowing_and_types.py"
FIRST_BATCH = "tests/test_first_batch_state.py"
GAPS = "tests/test_mutation_gaps.py"  # the tests the survivors of this set taught us
DIFFERENTIAL_TORCH = (
    THEN,
    "tests/test_differential.py",
    "-k",
    "test_target_agrees_with_the_reference and torchmetrics",
)
DIFFERENTIAL_TF = (THEN, "tests/test_differential.py", "-k", "test_target_agrees_with_the_reference and tf and not xla")

SECOND = [
    # -- target internals ------------------------------------------------------------------------------------
    Mutant(
        "torch-prod-axes-ascending",
        "templates/helpers_torch.py",
        "for d in sorted({d % max(x.dim(), 1) for d in dims}, reverse=True):",
        "for d in sorted({d % max(x.dim(), 1) for d in dims}):",
        (RIGHT, "-k", "prod_over_two_axes"),
        "torchmetrics prod over several axes reduces the first axis first (later axes shift: wrong axis, IndexError)",
    ),
    Mutant(
        "torch-assign-last-process",
        "templates/helpers_torch.py",
        "    return values[0]\n",
        "    return values[-1]\n",
        (GAPS, "-k", "assigned", THEN) + TORCH[:1] + ("-k", "distributed or sync"),
        "an assign state synced over processes keeps the last process's value, not the first's",
    ),
    Mutant(
        "torch-merge-init-per-shard",
        "metricgen/targets/torchmetrics.py",
        '            if s.fold == "add" and s.init != 0:\n                value = f"({value} - {py_literal(s.init)})"\n',
        "",
        (RIGHT, "-k", "whole_number_init or geometric_mean") + DIFFERENTIAL_TORCH,
        "torchmetrics merge_state counts a non-zero init once per shard merged",
    ),
    Mutant(
        "torch-float-init-int64",
        "metricgen/targets/torchmetrics.py",
        "init = py_literal(float(s.init) if s.dtype == FLOAT else s.init)",
        "init = py_literal(s.init)",
        (RIGHT, "-k", "whole_number_init"),
        "a float state with `init: 1` is made int64 by torch.full (update fails)",
    ),
    Mutant(
        "torch-first-batch-state-ignores-set-dtype",
        "metricgen/targets/torchmetrics.py",
        'f"self.{s.name} = torch.zeros({shape}, dtype={self.state_dtype(s.dtype)}, device=self.device)"',
        'f"self.{s.name} = torch.zeros({shape}, dtype=torch.{s.dtype}, device=self.device)"',
        (RIGHT, "-k", "set_dtype"),
        "a state shaped by the first batch is float32 after set_dtype(float64)",
    ),
    Mutant(
        "keras-squeeze-every-axis",
        "metricgen/targets/keras_functions.py",
        '"squeeze": call("ops.squeeze", "x", axis=given("axis")),',
        '"squeeze": call("ops.squeeze", "x"),',
        (RIGHT, GAPS, "-k", "squeeze"),
        "the keras target's squeeze(x, axis=-1) squeezes every size-1 axis (a batch of one)",
    ),
    Mutant(
        "keras-int-sum-others-keep-parts",
        "templates/helpers_keras.py",
        "            for other in others:\n                other.assign(tf.zeros_like(total))\n",
        "",
        ("tests/test_distributed.py", "-k", "made_in_the_scope or in_and_out"),
        "an int sum written outside a replica puts the total on the first replica, and the others keep their parts",
    ),
    Mutant(
        "tf-int-sum-in-scope-is-a-replica-write",
        "templates/helpers_tf.py",
        "tf.distribute.has_strategy() and not tf.distribute.in_cross_replica_context()",
        "tf.distribute.has_strategy()",
        ("tests/test_distributed.py", "-k", "made_in_the_scope or in_and_out"),
        "an int sum merged in a strategy's scope is split between replicas (3 + 2 reads back 4)",
    ),
    Mutant(
        "keras-registered-name-shared",
        "metricgen/targets/keras.py",
        'return f"{package}.keras"',
        "return package",
        (RIGHT, "-k", "registers_its_own_name"),
        "the keras and tf modules of one spec register one name (the one imported last wins load_model)",
    ),
    # -- merges --------------------------------------------------------------------------------------------------
    Mutant(
        "keras-merge-params-unchecked",
        "metricgen/targets/keras_metric.py",
        '        body += ["    " + line for line in same_params_check(metric, self, "other")]\n',
        "",
        (RIGHT, "-k", "other_params"),
        "tf/keras merge_state merges a metric made with other params",
    ),
    Mutant(
        "torch-merge-params-unchecked",
        "metricgen/targets/torchmetrics.py",
        '            *["    " + line for line in same_params_check(metric, self, "incoming_state")],\n',
        "",
        (RIGHT, "-k", "other_params"),
        "torchmetrics merge_state merges a metric made with other params (threshold 0.1 with 0.9)",
    ),
    Mutant(
        "keras-list-merge-stops-at-unfed-shard",
        "metricgen/targets/keras_metric.py",
        """body += [f"    if {self.unbuilt(f'other.{first}')}:  # it has seen no batch", "        continue"]""",
        """body += [f"    if {self.unbuilt(f'other.{first}')}:  # it has seen no batch", "        break"]""",
        (FIRST_BATCH, RIGHT, "-k", "merge") + DIFFERENTIAL_TF,
        "merge_state([a, unfed, b]) stops at the shard that saw no batch (b is never merged)",
    ),
    Mutant(
        "merge-ignores-forwarded-kwargs",
        "metricgen/lowering.py",
        "    names += [p.kwargs_attribute for p in metric.params if p.forward_kwargs]\n",
        "",
        (RIGHT, GAPS, "-k", "other_params or forwarded"),
        "merge_state merges MeanMetricWrappers with different forwarded kwargs",
    ),
    Mutant(
        "get-config-drops-forwarded-kwargs",
        "metricgen/targets/keras_metric.py",
        '"forwarded_kwargs": forwarded.kwargs_attribute if forwarded else None,',
        '"forwarded_kwargs": None,',
        (GAPS, "-k", "forwarded"),
        "get_config drops forwarded kwargs (from_config computes another metric)",
    ),
    # -- promotion -----------------------------------------------------------------------------------------------
    Mutant(
        "promote-float16-bfloat16",
        "metricgen/types.py",
        'floats.append("float32")  # neither holds the other',
        "pass  # neither holds the other",
        (NARROWING, "-k", "float16") + DIFFERENTIAL_TF,
        "float16 with bfloat16 stays 16-bit (73728 + 4 gives 73728 or inf)",
    ),
    Mutant(
        "promote-int64-int32",
        "metricgen/types.py",
        'return "int64" if "int64" in ints else "int32"',
        'return "int32" if "int32" in ints else "int64"',
        (NARROWING, "-k", "int64") + DIFFERENTIAL_TF,
        "int64 meeting int32 is computed in int32 (3,000,000,008 wraps)",
    ),
    # -- the format cache ----------------------------------------------------------------------------------------
    Mutant(
        "format-cache-accepts-appended-code",
        "metricgen/formatting.py",
        "            if len(x) != len(y):\n                return False\n            pending.extend(zip(x, y))",
        "            if len(x) < len(y):\n                return False\n            pending.extend(zip(x, y))",
        ("tests/test_hardening.py", "tests/test_formatting.py", GAPS, "-k", "format_cache or cache"),
        "the program check takes a cached entry with code appended after the module",
    ),
    Mutant(
        "format-cache-skips-docstring-bodies",
        "metricgen/formatting.py",
        "                pending.append((x.body[1:], y.body[1:]))  # type: ignore[attr-defined]\n",
        "",
        ("tests/test_hardening.py", "tests/test_formatting.py", GAPS, "-k", "format_cache or cache"),
        "the program check compares only the docstring of a class or function (code injected into a method passes)",
    ),
    # -- first-batch state ---------------------------------------------------------------------------------------
    Mutant(
        "batch-size-check-removed",
        "metricgen/lowering.py",
        "        checks = size_checks(metric, printer, check)\n",
        "        checks = []\n",
        (RIGHT, "-k", "another_size"),
        "a later batch of another size broadcasts into the state shaped by the first",
    ),
    Mutant(
        "keras-merge-size-check-skipped",
        "metricgen/targets/keras_metric.py",
        '            body += ["    " + line for line in size_checks(metric, printer, check)]\n',
        "",
        (RIGHT, "-k", "merging_a_metric_of_another_size"),
        "tf/keras merge_state of a 1-class shard into a 3-class metric broadcasts it",
    ),
    Mutant(
        "torch-merge-size-check-skipped",
        "metricgen/targets/torchmetrics.py",
        "            body += size_checks(metric, printer, check)\n",
        "",
        (RIGHT, "-k", "merging_a_metric_of_another_size"),
        "torchmetrics merge_state of a 1-class shard into a 3-class metric broadcasts it",
    ),
    Mutant(
        "shape-given-when-negation-dropped",
        "metricgen/lowering.py",
        'shape_given_when = None if needed_when is None else f"not ({needed_when})"',
        'shape_given_when = None if needed_when is None else f"({needed_when})"',
        (FIRST_BATCH, "-k", "params_that_give or reset_before"),
        "`1 if pooled else shape(y_pred, -1)`: the state is made in the constructor exactly when it needs a batch",
    ),
    # -- narrowing and the type rules ----------------------------------------------------------------------------
    Mutant(
        "decided-and-or-not-broadcast",
        "metricgen/analysis/typecheck.py",
        'decided = self.broadcast(decided, "bool", rest, (decided_scope, rest_scope), operands[1].loc)',
        'decided = self.to_tensor(decided, "bool")',
        (NARROWING, "-k", "decided_or") + DIFFERENTIAL_TF,
        "`ignore_index is None or y_true != ignore_index` is the scalar True, not a mask of y_true's shape",
    ),
    Mutant(
        "float-into-int-state-allowed",
        "metricgen/analysis/typecheck.py",
        'if state.dtype in INT_DTYPES and (expr.type.dtype in FLOAT_DTYPES or expr.type.dtype == "float"):',
        "if False:",
        ("tests/test_bad_specs.py", "-k", "float_folded_into_an_int_state"),
        "a float folded into an int state is truncated silently (0.5833 for 0.625)",
    ),
    Mutant(
        "str-choice-on-the-left-unchecked",
        "metricgen/analysis/comparisons.py",
        "for param, other, other_node in ((left, right, node.right), (right, left, node.left)):",
        "for param, other, other_node in ((left, right, node.right),):",
        ("tests/test_bad_specs.py", "-k", "choice"),
        '`"precent" == unit` builds (the string on the left is not checked against the choices)',
    ),
    Mutant(
        "max-of-two-values-allowed",
        "metricgen/analysis/calls.py",
        'if name in ("max", "min") and len(node.args) > 1:',
        "if False:",
        ("tests/test_bad_specs.py", "-k", "two_argument"),
        "`min(y_true, y_pred)` (Python's smaller of two) builds as a reduction over an axis",
    ),
    # -- the cost model ------------------------------------------------------------------------------------------
    Mutant(
        "cost-select-union-smaller",
        "metricgen/analysis/constants.py",
        "return Bound(min(a.lo, b.lo), max(a.hi, b.hi), a.why or b.why, a.caller or b.caller)",
        "return Bound(min(a.lo, b.lo), min(a.hi, b.hi), a.why or b.why, a.caller or b.caller)",
        ("tests/test_cost_model.py", "-k", "not linear_time"),
        "a branch decided at run time is bounded by its smaller branch (a huge state behind `rank() > 1`)",
    ),
    Mutant(
        "cost-unknown-is-zero",
        "metricgen/analysis/constants.py",
        "    return Bound(-INF, INF, why)\n",
        "    return Bound(0, 0, why)\n",
        ("tests/test_cost_model.py", "-k", "not linear_time"),
        "a value the cost model cannot bound counts as 0",
    ),
    Mutant(
        "cost-power-cap-negative-base",
        "metricgen/analysis/constants.py",
        "if abs(a) > 1 and b > MAX_EXPONENT:",
        "if a > 1 and b > MAX_EXPONENT:",
        ("tests/test_cost_model.py", "-k", "not linear_time"),
        "a negative base skips the exponent cap (`(-3) ** 10**9` is computed)",
    ),
    # -- the loader, the docs, the CLI --------------------------------------------------------------------------
    Mutant(
        "loader-depth-limit-doubled",
        "metricgen/loader.py",
        "            if self.depth > MAX_DEPTH:",
        "            if self.depth > 2 * MAX_DEPTH:",
        ("tests/test_safety.py", "-k", "deep_yaml or recursive_alias"),
        "the streaming depth check lets the composer read twice as deep as the limit",
    ),
    Mutant(
        "docs-pipe-not-escaped",
        "metricgen/catalogue.py",
        '_REFERENCES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "&#124;"}',
        '_REFERENCES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}',
        ("tests/test_docs_safety.py",),
        "a `|` in spec text splits a table row of the catalogue",
    ),
    Mutant(
        "none-update-always-folded",
        "metricgen/lowering.py",
        "    return body + under_tests(folds)",
        "    return body + [line for _, block in folds for line in block]",
        ("tests/test_none_update.py",),
        "a state's `value if c else None` is folded in whether c holds or not",
    ),
    Mutant(
        "state-shape-unchecked",
        "metricgen/lowering.py",
        "may_reshape=not keeps_shape(state, expr, shapes)",
        "may_reshape=False",
        ("tests/test_state_shapes.py",),
        "a batch value that grows a state is folded in on the jax target (and replaces it on torchmetrics)",
    ),
    Mutant(
        "reference-state-shape-unchecked",
        "tests/reference.py",
        "        if new.shape != old.shape:",
        "        if False:",
        ("tests/test_state_shapes.py",),
        "the reference interpreter lets a fold change a state's shape",
    ),
    Mutant(
        "scalar-weight-weighs-elements",
        "templates/helpers_torch.py",
        "        if values.dim() > weights.dim():",
        "        if values.dim() > weights.dim() and weights.dim():",
        ("tests/test_keras_catalogue.py", "-k", "against_keras and scalar and torchmetrics"),
        "a scalar sample_weight weighs each element of a Keras mean-style metric, not the batch's mean once",
    ),
    Mutant(
        "reference-scalar-weight-weighs-elements",
        "tests/reference.py",
        "        if values.ndim > w.ndim:",
        "        if values.ndim > w.ndim and w.ndim:",
        ("tests/test_differential.py", "-k", "samplewise"),
        "the reference's Keras Mean reduction weighs each element by a scalar weight",
    ),
    Mutant(
        "radix-sort-keeps-negative-zero",
        "templates/helpers_torch.py",
        '        ordered = torch.where(torch.isnan(x), float("nan"), x + 0.0).view(bits)',
        '        ordered = torch.where(torch.isnan(x), float("nan"), x).view(bits)',
        ("tests/test_fast_paths.py", "-k", "torch_argsort"),
        "the torch target's radix sort orders -0.0 below 0.0, where torch's sort ties them",
    ),
    Mutant(
        "radix-rank-run-ends-early",
        "templates/helpers_torch.py",
        "    after = torch.where(ends, place + 1, size).flip(-1)",
        "    after = torch.where(ends, place, size).flip(-1)",
        ("tests/test_fast_paths.py", "-k", "rankdata"),
        "the torch target's ranks from one radix sort end each run of ties a place early",
    ),
    Mutant(
        "held-buffer-length-is-its-storage",
        "metricgen/lowering.py",
        '        return f"{self.held.get(e.state) or self.target.state_variable(e.state)}.shape[{e.axis}]", _PREC["atom"]',
        '        return f"{self.target.state_variable(e.state)}.shape[{e.axis}]", _PREC["atom"]',
        ("tests/test_sample_buffers.py", "-k", "length_read"),
        "shape(samples, 0) of a buffer read as the rows it holds is the length of the storage it grew to",
    ),
    Mutant(
        "grown-buffer-synced-as-it-is",
        "templates/torchmetrics_metric.py.j2",
        "{% elif grown_buffers %}",
        "{% elif False %}",
        ("tests/test_sample_buffers.py", "-k", "torch_distributed"),
        "a sample buffer that grows is synced at its own length, which torchmetrics cannot stack",
    ),
    Mutant(
        "module-store-trusts-any-signature",
        "metricgen/records.py",
        "        if not (isinstance(signature, str) and hmac.compare_digest(signature, _signature(key, name, record))):",
        "        if not isinstance(signature, str):",
        ("tests/test_records.py", "-k", "did_not_sign"),
        "the module store takes a record whoever signed it",
    ),
    Mutant(
        "module-store-skips-the-digest",
        "metricgen/records.py",
        "        if module is None or expected != hashlib.sha256(module).hexdigest():",
        "        if module is None:",
        ("tests/test_records.py", "-k", "did_not_sign"),
        "the module store takes an entry edited after its record was signed",
    ),
    Mutant(
        "float-ones-counted-one-at-a-time",
        "templates/helpers_torch.py",
        "        counts.index_add_(0, ids, torch.ones_like(ids))",
        "        counts = counts.to(dtype).index_add_(0, ids, torch.ones_like(ids, dtype=dtype))",
        ("tests/test_torchmetrics_target.py", "-k", "keep_growing"),
        "the torch target counts ids off the CPU by adding float ones, which stop growing at the dtype's limit",
    ),
    Mutant(
        "single-values-never-chosen",
        "metricgen/passes/branch_on_scalar.py",
        "    if _made(a) and _made(b) or e.type.dtype not in FLOAT_DTYPES:",
        "    if True:",
        ("tests/test_branch_on_scalar.py",),
        "a where() between single values computes both branches on the torchmetrics target",
    ),
    Mutant(
        "traced-cond-between-single-values",
        "metricgen/passes/branch_on_scalar.py",
        "                return e if traced else _between_single_values(e, test, a, b)",
        "                return _between_single_values(e, test, a, b)",
        ("tests/test_branch_on_scalar.py",),
        "the tf and keras targets write tf.cond between two single values, where a select is one op",
    ),
    Mutant(
        "traced-cond-between-made-values",
        "metricgen/passes/branch_on_scalar.py",
        "            if traced and _made(a) and _made(b):",
        "            if False:",
        ("tests/test_branch_on_scalar.py",),
        "the tf and keras targets write tf.cond between two values already made, where a select is one op",
    ),
    Mutant(
        "state-branch-chosen",
        "metricgen/passes/branch_on_scalar.py",
        "            if may_be_a_state(a, definitions) or may_be_a_state(b, definitions):",
        "            if False:",
        ("tests/test_branch_on_scalar.py",),
        "a where() branch that is a state variable is chosen, and the next update's fold changes what was kept",
    ),
    Mutant(
        "state-registered-though-never-updated",
        "metricgen/targets/torchmetrics.py",
        "        if condition is not None and of_params_alone(condition) and state.name not in shaped_by_batch:",
        "        if False:",
        ("tests/test_torchmetrics_target.py",),
        "the torchmetrics target registers a state its arguments never update: reset, sync and merge it for nothing",
    ),
    Mutant(
        "state-registered-by-an-input-test",
        "metricgen/targets/torchmetrics.py",
        "        if condition is not None and of_params_alone(condition) and state.name not in shaped_by_batch:",
        "        if condition is not None and state.name not in shaped_by_batch:",
        ("tests/test_shared_ids.py", "-k", "none_where"),
        "the torchmetrics constructor registers a state under its update's test where that test reads an input",
    ),
    Mutant(
        "unregistered-state-merged",
        "metricgen/targets/torchmetrics.py",
        '        return body + under_tests(folds) + ["self._computed = None"]',
        '        return body + [line for _, block in folds for line in block] + ["self._computed = None"]',
        ("tests/test_torchmetrics_target.py",),
        "merge_state folds in a state its arguments do not register: a KeyError from a dict of the states",
    ),
    Mutant(
        "rankdata-nan-unseen",
        "templates/helpers_torch.py",
        "        has_nan = size and bool(torch.isnan(ordered[..., -1]).any())",
        "        has_nan = False",
        ("tests/test_fast_paths.py",),
        "the torchmetrics target's _rankdata below 32,768 values gives NaN a place among the numbers, not NaN",
    ),
    Mutant(
        "weights-only-a-top-level-factor",
        "metricgen/passes/unweighted_sums.py",
        "        return [factor for part in e.operands for factor in _factors(part)]",
        "        return list(e.operands)",
        ("tests/test_shared_ids.py", "-k", "several_factors"),
        "`w * predicted * y_true` keeps its product with ones where update got no weights (FBetaScore, 1.11x Keras)",
    ),
    Mutant(
        "state-definition-branch-chosen",
        "metricgen/passes/branch_on_scalar.py",
        '        if isinstance(e, ir.Ref) and e.kind == "local" and definitions and e.name in definitions and seen < 64:',
        "        if False:",
        ("tests/test_branch_on_scalar.py", "-k", "state_branch_stays"),
        "a branch that is a definition of a state (`held: acc`) is chosen, and result() hands the state back",
    ),
    Mutant(
        "definition-read-twice-inlined",
        "metricgen/passes/inline_into_branches.py",
        "        if reads[name] == 1 and not may_be_a_state(expr, scope):",
        "        if not may_be_a_state(expr, scope) and name in reader:",
        ("tests/test_branch_on_scalar.py", "-k", "read_once"),
        "a definition read twice in branches is written at each read, and computed twice",
    ),
    Mutant(
        "definition-left-before-its-branch",
        "metricgen/passes/inline_into_branches.py",
        "            if in_branch or owner in inlined:",
        "            if False:",
        ("tests/test_branch_on_scalar.py", "-k", "read_once"),
        "a definition read only in a branch of a choice on a tensor is computed on every call (MCC's 2 x 2 cases)",
    ),
    Mutant(
        "cast-to-int-counted-positive",
        "metricgen/passes/plain_division.py",
        '            return e.type.dtype in _FLOATS and self.above_zero(e.x if isinstance(e, ir.Cast) else e.arg("x"), strict)',
        '            return self.above_zero(e.x if isinstance(e, ir.Cast) else e.arg("x"), strict)',
        ("tests/test_plain_division.py",),
        "0.5 cast to an int counts as positive, though it truncates to 0 (then inf or NaN, not 0)",
    ),
    Mutant(
        "tiny-literal-counted-positive",
        "metricgen/passes/plain_division.py",
        "            return number and (e.value >= SMALLEST if strict else e.value >= 0)",
        "            return number and (e.value > 0 if strict else e.value >= 0)",
        ("tests/test_plain_division.py",),
        "maximum(x, 1e-50) divides plainly, though 1e-50 is 0 in float32 (found by a review)",
    ),
    Mutant(
        "clip-by-its-lower-bound",
        "metricgen/passes/plain_division.py",
        '            return self.above_zero(e.arg("lo"), strict) and self.above_zero(e.arg("hi"), strict)',
        '            return self.above_zero(e.arg("lo"), strict)',
        ("tests/test_plain_division.py",),
        "clip(x, 1.0, hi) counts as positive whatever hi, though torch.clamp gives hi where hi < lo (found by a review)",
    ),
    Mutant(
        "integer-sum-counted-positive",
        "metricgen/passes/plain_division.py",
        "        if e.type.dtype not in _FLOATS:\n            return False",
        "        if False:\n            return False",
        ("tests/test_plain_division.py",),
        "abs(i) + 1 of an int32 counts as positive, though abs(-2**31) wraps (found by a review)",
    ),
    Mutant(
        "empty-axes-accepted",
        "metricgen/analysis/calls.py",
        "        if kind is Kind.AXES and not items:",
        "        if False:",
        ("tests/test_bad_specs.py", "-k", "empty_tuple"),
        "sum(x, axis=()) is numpy's x itself on three targets and torch's sum of everything on the fourth",
    ),
    Mutant(
        "sum-of-ones-axis-wrapped",
        "templates/helpers_torch.py",
        "            if not -ndim <= d < ndim:",
        "            if False:",
        ("tests/test_shared_ids.py", "-k", "count_of_ones"),
        "an axis out of range is wrapped into range where torch.sum raises (a rank the spec did not declare)",
    ),
    Mutant(
        "view-of-a-state-not-copied",
        "metricgen/lowering.py",
        "    return printer.target.snapshot(code) if may_be_a_state(expr) else code",
        '    return printer.target.snapshot(code) if isinstance(expr, ir.Ref) and expr.kind == "state" else code',
        ("tests/test_branch_on_scalar.py", "-k", "view_of_a_state"),
        "a definition that is a view of a state (reshape) is read after the state's in-place fold on torch",
    ),
    Mutant(
        "constants-converted-by-a-parent",
        "templates/torchmetrics_metric.py.j2",
        "            this._buffers[name] = value.to(device=this._buffers[name].device, dtype=dtype)",
        "            pass",
        ("tests/test_torchmetrics_target.py", "-k", "registered"),
        "a parent module's .half() converts the constants of unregistered states, not the states",
    ),
    Mutant(
        "lambda-laid-out-as-black-would-not",
        "metricgen/layout.py",
        '        self.leaf(":", space=False)\n        self.expr(node.body, level=_TEST)',
        '        self.leaf(":", space=True)\n        self.expr(node.body, level=_TEST)',
        ("tests/test_layout.py",),
        "layout.py writes `lambda :` where black writes `lambda:` (the tf.cond branches)",
    ),
    Mutant(
        "record-ignores-inputs",
        "metricgen/records.py",
        "        if not all(map(_unchanged, inputs.items())):",
        "        if False:",
        ("tests/test_records.py",),
        "a build record vouches for its module after the spec (or a spec it extends) has changed",
    ),
    Mutant(
        "record-ignores-module-bytes",
        "metricgen/records.py",
        "        if module is not None and hashlib.sha256(module).hexdigest() == expected:",
        "        if module is not None:",
        ("tests/test_records.py",),
        "a build record vouches for a module edited by hand since",
    ),
    Mutant(
        "nfkc-stem-check-removed",
        "metricgen/spec_files.py",
        "if normal != file.stem:  # Python reads names in NFKC",
        "if False:  # Python reads names in NFKC",
        ("tests/test_cli_limits.py", "-k", "import_as_another"),
        "a spec named `ﬁle.yaml` builds a module Python imports as file.py",
    ),
    Mutant(
        "shared-ids-ignore-their-length",
        "metricgen/passes/shift_ids_once.py",
        "    return e.arg(ids), e.arg(length)",
        "    return e.arg(ids), None",
        ("tests/test_shared_ids.py",),
        "sums by the same ids but different numbers of segments share one shift (clamped to the first's length)",
    ),
    Mutant(
        "bucketize-nan-first-under-xla",
        "templates/helpers_tf.py",
        "    if values.dtype.is_floating:",
        "    if False:",
        ("tests/test_bucketize.py",),
        "the tf target's bucketize leaves NaN where XLA's search puts it, before every edge",
    ),
    Mutant(
        "shared-ids-that-may-be-none",
        "metricgen/passes/shift_ids_once.py",
        "        if count < 2 or not _always_a_tensor(ids, definitions):",
        "        if count < 2:",
        ("tests/test_shared_ids.py", "-k", "none_where"),
        "ids guarded by a param's test (None where it fails) are shifted where the test has failed",
    ),
    Mutant(
        "unweighted-sum-of-any-shape",
        "metricgen/passes/unweighted_sums.py",
        "        if value.type == e.type and _broadcast_from(value, shaped_as, definitions):",
        "        if value.type == e.type:",
        ("tests/test_shared_ids.py", "-k", "keeps_its_shape"),
        "a product with the weights is summed as its other factor without weights, whatever that factor's shape",
    ),
    Mutant(
        "reshaped-weights-shaped-as-their-input",
        "metricgen/passes/unweighted_sums.py",
        '        return None if inner is None else dataclasses.replace(e, type=inner.type, args=(("x", inner), *e.args[1:]))',
        "        return inner",
        ("tests/test_shared_ids.py", "-k", "reshaped"),
        "weights reshaped to [-1, k] are taken to have their input's shape: their sums count the wrong elements",
    ),
    Mutant(
        "sum-of-ones-keepdim-dropped",
        "templates/helpers_torch.py",
        "            if keepdim:\n                shape.append(1)\n",
        "",
        ("tests/test_shared_ids.py", "-k", "reshaped"),
        "sum(w, axis=0, keepdims=True) without weights loses the kept axis",
    ),
    Mutant(
        "definition-judged-anew",
        "metricgen/passes/plain_division.py",
        "            if key not in self.decided:\n",
        "            if True:\n",
        ("tests/test_plain_division.py", "-k", "chain"),
        "each read of a definition follows its reads again: a chain that reads the one before twice is exponential",
    ),
    Mutant(
        "definition-chain-unbounded",
        "metricgen/passes/plain_division.py",
        "        if self.depth >= self.MAX_DEPTH:\n            return False\n",
        "",
        ("tests/test_plain_division.py", "-k", "chain"),
        "a chain of 2,000 definitions is followed to its end: a RecursionError, a traceback for the user",
    ),
]
MUTANTS += SECOND


def edit_problem(mutant: Mutant, root: Path) -> str:
    """Why ``mutant``'s edit cannot be applied in the tree at ``root`` (its text missing or not unique, as
    after someone else's edit of that line), or "" where it can."""
    path = root / mutant.file
    if not path.is_file():
        return f"{mutant.file} does not exist"
    count = path.read_text(encoding="utf-8").count(mutant.old)
    if count != 1:
        return f"the text to replace occurs {count} times in {mutant.file} (it must occur once: update the mutant)"
    return ""


def run_mutant(mutant: Mutant, python: str, timeout: int) -> tuple[str, float, str]:
    """'killed', 'survived' or 'invalid' (the edit did not apply, or its tests select nothing), the seconds it
    took, and a detail."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="metricgen-mutant-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(
            ROOT, copy, ignore=shutil.ignore_patterns(".venv*", ".git", "__pycache__", ".pytest_cache", ".hypothesis")
        )
        problem = edit_problem(mutant, copy)
        if problem:
            return "invalid", 0.0, problem
        path = copy / mutant.file
        path.write_text(path.read_text(encoding="utf-8").replace(mutant.old, mutant.new), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(copy), "TF_CPP_MIN_LOG_LEVEL": "3", "METRICGEN_CACHE_DIR": ""}
        # the shipped specs, and a catalogue's where its tests run (they read its committed modules)
        folders = [copy] + [copy / folder for test, folder in CATALOGUES.items() if test in mutant.tests]
        for folder, target in ((f, t) for f in folders for t in ("tf", "keras", "torchmetrics")):
            built = subprocess.run(
                [python, "-m", "metricgen", "build", "--force", "--target", target, "specs/"],
                cwd=folder,
                env=env,
                capture_output=True,
                text=True,
            )
            if built.returncode != 0:
                return "killed", time.perf_counter() - start, f"metricgen build failed: {built.stderr.strip()[-200:]}"
        last = ""
        for selection in _selections(mutant.tests):  # each its own pytest run, cheapest first; the first failure kills
            left = timeout - (time.perf_counter() - start)
            try:
                tests = subprocess.run(
                    [python, "-m", "pytest", "-x", "-q", "-n", "0", "-p", "no:cacheprovider", *selection],
                    cwd=copy,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=max(left, 1),
                )
            except subprocess.TimeoutExpired:
                return "killed", time.perf_counter() - start, "the tests ran past the time limit"
            last = (tests.stdout.strip().splitlines() or [""])[-1]
            if tests.returncode in (4, 5):  # pytest's usage error, or no test selected: the mutant's list is wrong
                return "invalid", time.perf_counter() - start, f"pytest exit {tests.returncode} on {selection}: {last}"
            if tests.returncode != 0:
                return "killed", time.perf_counter() - start, last
        return "survived", time.perf_counter() - start, last


def _selections(tests: tuple[str, ...]) -> list[list[str]]:
    """A mutant's pytest arguments split at each THEN (separate runs: each may have its own -k)."""
    runs: list[list[str]] = [[]]
    for part in tests:
        if part == THEN:
            runs.append([])
        else:
            runs[-1].append(part)
    return [run for run in runs if run]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="run the mutants whose id contains this text")
    parser.add_argument("--ids", default="", help="run these mutants (ids, comma-separated)")
    parser.add_argument("--second", action="store_true", help="run the second set only (issues 20 and 25)")
    parser.add_argument("--list", action="store_true", help="print the mutation operators and exit")
    parser.add_argument("--check", action="store_true", help="check that each mutant's edit applies, and exit")
    parser.add_argument("--timeout", type=int, default=900, help="seconds for one mutant (its builds and tests)")
    args = parser.parse_args(argv)
    chosen = [m for m in (SECOND if args.second else MUTANTS) if args.only in m.id]
    if args.ids:
        ids = [i.strip() for i in args.ids.split(",") if i.strip()]
        unknown = [i for i in ids if i not in {m.id for m in MUTANTS}]
        if unknown:
            parser.error(f"no mutant named {', '.join(unknown)} (see --list)")
        chosen = [m for m in chosen if m.id in ids]
    if args.list:
        for m in chosen:
            print(f"{m.id:40} {m.file:36} {m.what}")
        return 0
    if args.check:
        problems = [f"{m.id}: {problem}" for m in chosen for problem in [edit_problem(m, ROOT)] if problem]
        print("\n".join(problems) or f"{len(chosen)} mutants: each edit applies")
        return 1 if problems else 0
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
