#!/usr/bin/env python
"""metricgen's benchmark: generated metrics against their Keras counterparts, and the generator itself.

Run from the repository root (about 8 minutes on a 2-core machine; not part of the test suite):

    .venv/bin/python benchmarks/run.py            # prints the table, rewrites docs/benchmarks.md
    .venv/bin/python benchmarks/run.py --quick    # fewer rounds, no file written: a smoke run
    .venv/bin/python benchmarks/run.py --only f1,map --no-write

Method. Everything runs in ONE process. Each comparison is a group of candidates (a generated metric,
its reference, and for some both again under XLA) that are timed interleaved: in each round every
candidate runs `iters` calls back to back, the order of the candidates alternating from round to round,
so that drift in the machine's speed falls on all of them alike. A call is one `update_state` + `result`
inside a `tf.function` (graph mode), or the same with `jit_compile=True` (XLA), on inputs that are
already tensors. `iters` is calibrated per candidate after warm-up (tracing, compilation) so that a
round lasts about --round-ms; the figure reported is the median over --rounds rounds of the mean time
per call within the round (the garbage collector is off while a candidate is timed, as in timeit).
Ratios are generated / reference of those medians (the catalogue's: the median of each round's ratio, the
two timed back to back). F1 and precision, whose ~0.1 ms of work sits on
~0.35 ms of tf.function call overhead, get twice the rounds and a second instance of the reference timed
alike: its ratio to the first (A/A) shows how much of a ratio is noise.

The generator is timed as whole cold processes (`python -m metricgen build specs/ --out <tmp>`,
`python -m metricgen check specs/`, and `python -c "import black, jinja2, pydantic, click"` as the
floor), interleaved the same way. Its format cache (see metricgen/formatting.py) is pointed at a
temporary folder: "cache warm" runs reuse it, "no cache" runs get a fresh empty one each time.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib.util
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"

SECTIONS = ("f1", "precision", "map", "dice", "torchmetrics", "catalogue", "generator", "fit", "tm-catalogue")
CATALOGUE = ROOT / "catalogue" / "keras"
CATALOGUE_START, CATALOGUE_END = "<!-- catalogue-benchmark:start -->", "<!-- catalogue-benchmark:end -->"


# -- timing ------------------------------------------------------------------------------------------------


def _per_call(fn: Callable[[], object], budget_s: float = 0.05) -> float:
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget_s or calls >= 1000:
            return elapsed / calls


def interleaved(
    candidates: dict[str, Callable[[], object]], rounds: int, round_ms: float, warmup: int = 3
) -> dict[str, float]:
    """Median seconds per call of each candidate, timed in alternating order round after round."""
    samples = interleaved_rounds(candidates, rounds, round_ms, warmup)
    return {name: statistics.median(values) for name, values in samples.items()}


def rounds_over_passes(
    rows: list[dict[str, Callable[[], object]]], rounds: int, round_ms: float, passes: int, label: str = ""
) -> list[dict[str, list[float]]]:
    """interleaved_rounds for each row (its candidates), a row's ``rounds`` spread over ``passes`` passes over
    all the rows: a burst of other work on the machine falls on a part of a row's rounds, which the median over
    them leaves out, not on all of them as when a row's rounds run back to back."""
    samples: list[dict[str, list[float]]] = [{name: [] for name in candidates} for candidates in rows]
    for part in range(passes):
        share = rounds // passes + (1 if part < rounds % passes else 0)
        print(f"  {label}pass {part + 1} of {passes}: {share} rounds of each row", flush=True)
        for candidates, taken in zip(rows, samples):
            for name, times in interleaved_rounds(candidates, share, round_ms, warmup=1).items():
                taken[name] += times
    return samples


def interleaved_rounds(
    candidates: dict[str, Callable[[], object]], rounds: int, round_ms: float, warmup: int = 3
) -> dict[str, list[float]]:
    """Seconds per call of each candidate in each round (round r at index r), timed in alternating order."""
    iters = {}
    for name, fn in candidates.items():
        for _ in range(warmup):
            fn()
        iters[name] = max(3, min(5000, round(round_ms / 1000 / _per_call(fn))))
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    order = list(candidates)
    for r in range(rounds):
        for name in (order if r % 2 == 0 else order[::-1]):
            fn, n = candidates[name], iters[name]
            gc.collect()
            gc.disable()  # as timeit does: a collection would land on whichever candidate is running
            try:
                start = time.perf_counter()
                for _ in range(n):
                    fn()
                samples[name].append((time.perf_counter() - start) / n)
            finally:
                gc.enable()
    return samples


def paired_ratios(generated: list[float], reference: list[float]) -> tuple[float, float, float]:
    """The median and the quartiles of each round's generated / reference time (two candidates timed back to
    back in every round, so that the machine's drift between rounds falls on both): (median, q1, q3)."""
    ratios = [g / r for g, r in zip(generated, reference)]
    q1, median, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return median, q1, q3


# -- results -----------------------------------------------------------------------------------------------


@dataclass
class Row:
    section: str
    case: str
    mode: str
    generated_s: float
    reference_s: float
    reference: str
    limit: float  # the target for the ratio (<=)
    note: str = ""
    batch: Optional[int] = None  # where a section times more than one
    paired: Optional[float] = None  # the median over rounds of each round's generated / reference time
    spread: Optional[tuple[float, float]] = None  # the quartiles of those ratios

    @property
    def ratio(self) -> float:
        return self.paired if self.paired is not None else self.generated_s / self.reference_s

    @property
    def ok(self) -> bool:
        return self.ratio <= self.limit


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # markdown paragraphs/tables after the main table

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(
            f"  {row.section:<10} {row.case + (f' @{row.batch}' if row.batch else ''):<34} {row.mode:<6} {_fmt_time(row.generated_s):>10} "
            f"{_fmt_time(row.reference_s):>10}  {row.ratio:6.2f}x  (<= {row.limit:g}) "
            f"{'ok' if row.ok else 'MISSED'}" + (f"  [{row.note}]" if row.note else ""),
            flush=True,
        )


def _fmt_time(seconds: float) -> str:
    if seconds >= 0.1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


# -- metrics -----------------------------------------------------------------------------------------------


def load_generated(stem: str):
    """Imports generated/<stem>.py by path, as a user who copied the file into their project would."""
    name = f"benchmark_generated_{stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, GENERATED / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def step(tf, metric, jit: bool):
    """A compiled call of one update_state + result on `metric`."""

    @tf.function(jit_compile=jit, reduce_retracing=True)
    def call(y_true, y_pred):
        metric.update_state(y_true, y_pred)
        return metric.result()

    return call


def bench_binary(report: Report, args, tf, keras, np, section: str) -> None:
    """StatefulF1Score vs F1Score(micro), RunningAveragePrecision vs Precision, on [B, 1] scores."""
    if section == "f1":
        make = lambda: load_generated("stateful_f1").StatefulF1Score(threshold=0.5)  # noqa: E731
        make_ref = lambda: keras.metrics.F1Score(average="micro", threshold=0.5)  # noqa: E731
        title, reference = "StatefulF1Score", 'keras F1Score(average="micro", threshold=0.5)'
    else:
        make = lambda: load_generated("running_average_precision").RunningAveragePrecision(threshold=0.5)  # noqa
        make_ref = lambda: keras.metrics.Precision(thresholds=0.5)  # noqa: E731
        title, reference = "RunningAveragePrecision", "keras Precision(thresholds=0.5)"
    rng = np.random.default_rng(0)
    for batch in args.batch_sizes:
        y_true = tf.constant((rng.uniform(size=(batch, 1)) > 0.5).astype("float32"))
        y_pred = tf.constant(rng.uniform(size=(batch, 1)).astype("float32"))
        candidates, checks = {}, {}
        for mode, jit in (("graph", False), ("xla", True)):
            # "same": a second instance of the reference, timed alike: ref/same shows the noise of the run
            for who, factory in (("gen", make), ("ref", make_ref), ("same", make_ref)):
                fn = step(tf, factory(), jit)
                candidates[f"{who}/{mode}"] = lambda fn=fn: fn(y_true, y_pred)
                checks[f"{who}/{mode}"] = float(fn(y_true, y_pred))
        _same_value(checks, f"{title} B={batch}")
        # ~0.1 ms of work on ~0.35 ms of tf.function call overhead: twice the rounds to see through the noise
        times = interleaved(candidates, 2 * args.rounds, args.round_ms)
        for mode in ("graph", "xla"):
            report.add(
                Row(
                    section,
                    f"{title} B={batch}",
                    mode,
                    times[f"gen/{mode}"],
                    times[f"ref/{mode}"],
                    reference,
                    1.0,
                    note=f"A/A: {times[f'ref/{mode}'] / times[f'same/{mode}']:.2f}x",
                )
            )


def _same_value(values: dict[str, float], what: str, tol: float = 1e-5) -> None:
    """Generated and reference must compute the same number on the benchmark's data."""
    first = next(iter(values.values()))
    for name, value in values.items():
        if abs(value - first) > tol * max(1.0, abs(first)):
            raise SystemExit(f"{what}: {name} gives {value}, not {first}: the comparison would be meaningless")


def state_bytes(metric) -> int:
    return sum(int(np_size(v)) for v in metric.variables)


def np_size(variable) -> int:
    return variable.numpy().nbytes


def bench_map(report: Report, args, tf, keras, np) -> None:
    """MeanAveragePrecision vs AUC(curve="PR", multi_label=True) at 200/1000 thresholds and 20/200 classes."""
    MAP = load_generated("mean_average_precision").MeanAveragePrecision
    rng = np.random.default_rng(1)
    memory_rows = []
    for classes in args.classes:
        for batch in args.batch_sizes:
            y_true = tf.constant((rng.uniform(size=(batch, classes)) > 0.7).astype("float32"))
            y_pred = tf.constant(rng.uniform(size=(batch, classes)).astype("float32"))
            candidates, metrics = {}, {}
            for mode, jit in (("graph", False), ("xla", True)):
                for thresholds in args.thresholds:
                    gen = MAP(num_classes=classes, num_thresholds=thresholds)
                    ref = keras.metrics.AUC(num_thresholds=thresholds, curve="PR", multi_label=True, num_labels=classes)
                    metrics[(mode, thresholds)] = (gen, ref)
                    for who, metric in (("gen", gen), ("ref", ref)):
                        fn = step(tf, metric, jit)
                        candidates[f"{who}/{mode}/{thresholds}"] = lambda fn=fn: fn(y_true, y_pred)
                    # update_state alone: the part that sees the batch (result() reads the T × C histograms)
                    update = tf.function(
                        MAP(num_classes=classes, num_thresholds=thresholds).update_state, jit_compile=jit
                    )
                    candidates[f"upd/{mode}/{thresholds}"] = lambda fn=update: fn(y_true, y_pred)
            times = interleaved(candidates, args.rounds, args.round_ms)
            low, high = min(args.thresholds), max(args.thresholds)
            for mode in ("graph", "xla"):
                for thresholds in args.thresholds:
                    report.add(
                        Row(
                            "map",
                            f"MeanAveragePrecision T={thresholds} C={classes} B={batch}",
                            mode,
                            times[f"gen/{mode}/{thresholds}"],
                            times[f"ref/{mode}/{thresholds}"],
                            f'keras AUC(curve="PR", multi_label=True, num_thresholds={thresholds})',
                            1.0,
                        )
                    )
                report.add(
                    Row(
                        "map-T",
                        f"MAP T={high} / T={low}, C={classes} B={batch}",
                        mode,
                        times[f"gen/{mode}/{high}"],
                        times[f"gen/{mode}/{low}"],
                        f"MeanAveragePrecision itself at T={low}",
                        1.2,
                        note=f"keras AUC: {times[f'ref/{mode}/{high}'] / times[f'ref/{mode}/{low}']:.2f}x",
                    )
                )
                report.add(
                    Row(
                        "map-T",
                        f"MAP update_state only, T={high} / T={low}, C={classes} B={batch}",
                        mode,
                        times[f"upd/{mode}/{high}"],
                        times[f"upd/{mode}/{low}"],
                        f"MeanAveragePrecision.update_state itself at T={low}",
                        1.2,
                    )
                )
            if batch == args.batch_sizes[0]:
                for thresholds in args.thresholds:
                    gen, ref = metrics[("graph", thresholds)]
                    memory_rows.append((thresholds, classes, state_bytes(gen), state_bytes(ref)))
    # O(thresholds × classes), never O(samples): the same bytes after a small and a large stream.
    probe = MAP(num_classes=4, num_thresholds=50)
    before = state_bytes(probe)
    for n in (10, 100_000):
        probe.update_state(np.ones((n, 4), "float32"), rng.uniform(size=(n, 4)).astype("float32"))
    after = state_bytes(probe)
    assert before == after == 2 * 51 * 4 * 4, (before, after)
    lines = [
        "MeanAveragePrecision's state (bytes of its variables): two float32 histograms of "
        "(thresholds + 1) × classes, whatever the number of samples seen (checked: "
        f"{before} bytes for T=50, C=4 both before any update and after 100,010 samples).",
        "",
        "| thresholds | classes | MAP state | (T+1)·C·2·4 | keras AUC state |",
        "|---:|---:|---:|---:|---:|",
    ]
    for thresholds, classes, gen_bytes, ref_bytes in memory_rows:
        assert gen_bytes == (thresholds + 1) * classes * 2 * 4
        lines.append(
            f"| {thresholds} | {classes} | {gen_bytes:,} | {(thresholds + 1) * classes * 8:,} | " f"{ref_bytes:,} |"
        )
    report.extra.append("\n".join(lines))
    print("\n".join("  " + line for line in lines))


def bench_dice(report: Report, args, tf, keras, np) -> None:
    """DiceCoefficient on a 16×256×256×1 mask batch vs hand-written TF and a numpy dot product."""
    Dice = load_generated("dice").DiceCoefficient
    rng = np.random.default_rng(2)
    shape = (16, 256, 256, 1)
    t_np = (rng.uniform(size=shape) > 0.5).astype("float32")
    p_np = rng.uniform(size=shape).astype("float32")
    y_true, y_pred = tf.constant(t_np), tf.constant(p_np)
    t_flat, p_flat = t_np.ravel(), p_np.ravel()

    class HandDice(keras.metrics.Metric):
        """What one would write by hand: Σ t·p and Σ t + Σ p, each one reduction over the batch."""

        def __init__(self, smooth=1e-7):
            super().__init__(name="hand_dice")
            self.smooth = smooth
            self.intersection = self.add_variable(shape=(), initializer="zeros", name="intersection")
            self.total = self.add_variable(shape=(), initializer="zeros", name="total")

        def update_state(self, y_true, y_pred, sample_weight=None):
            t = tf.cast(y_true, self.dtype)
            p = tf.cast(y_pred, self.dtype)
            self.intersection.assign_add(tf.reduce_sum(t * p))
            self.total.assign_add(tf.reduce_sum(t) + tf.reduce_sum(p))

        def result(self):
            return tf.math.divide_no_nan(2 * self.intersection, self.total + self.smooth)

    def floor():
        return np.dot(t_flat, p_flat)

    candidates, checks = {"numpy": floor}, {}
    for mode, jit in (("graph", False), ("xla", True)):
        for who, factory in (("gen", Dice), ("ref", HandDice), ("same", HandDice)):  # same: A/A, as for F1
            fn = step(tf, factory(), jit)
            candidates[f"{who}/{mode}"] = lambda fn=fn: fn(y_true, y_pred)
            checks[f"{who}/{mode}"] = float(fn(y_true, y_pred))
        # the fixed cost of calling a compiled function on these inputs, doing nothing with them
        empty = tf.function(lambda t, p: tf.constant(0.0), jit_compile=jit)
        candidates[f"call/{mode}"] = lambda fn=empty: fn(y_true, y_pred)
    _same_value(checks, "Dice", tol=1e-4)
    times = interleaved(candidates, args.rounds, args.round_ms)
    for mode in ("graph", "xla"):
        call = times[f"call/{mode}"]
        report.add(
            Row(
                "dice",
                "DiceCoefficient 16×256×256×1",
                mode,
                times[f"gen/{mode}"],
                times["numpy"],
                "numpy dot product of the two masks (memory-bandwidth floor)",
                1.5,
                note=f"an empty tf.function call alone: {_fmt_time(call)} = {call / times['numpy']:.2f}x "
                f"the floor; without it: {(times[f'gen/{mode}'] - call) / times['numpy']:.2f}x",
            )
        )
        report.add(
            Row(
                "dice",
                "DiceCoefficient 16×256×256×1",
                mode,
                times[f"gen/{mode}"],
                times[f"ref/{mode}"],
                "hand-written TF: reduce_sum(t·p), reduce_sum(t) + reduce_sum(p)",
                1.0,
                note=f"A/A: {times[f'ref/{mode}'] / times[f'same/{mode}']:.2f}x",
            )
        )


# -- the generator -----------------------------------------------------------------------------------------

_PROBE = (
    "import sys, atexit\n"
    "atexit.register(lambda: print('IMPORTED', *sorted(m for m in ('tensorflow', 'keras', 'numpy') "
    "if m in sys.modules), file=sys.stderr))\n"
    "from metricgen.cli import main\n"
    "sys.argv = ['metricgen'] + sys.argv[1:]\n"
    "main()\n"
)


def copy_shipped_specs(folder: Path, shipped: list[str], copies: int) -> list[str]:
    """Every shipped spec copied ``copies`` times under ``folder``, each copy under its own file names (the
    catalogue's name in front: Keras' and torchmetrics' catalogues share some) and Keras package (a build
    refuses two modules of one name or two classes of one registered name); the specs they extend (base/)
    copied beside them."""
    paths = []
    for i in range(copies):
        target = folder / f"copy{i}"
        target.mkdir(parents=True)
        for d in shipped:
            if (ROOT / d / "base").is_dir():
                shutil.copytree(ROOT / d / "base", target / "base", dirs_exist_ok=True)
            tag = Path(d).parent.name or "seeds"
            for spec in sorted((ROOT / d).glob("*.yaml")):
                lines = []
                for line in spec.read_text(encoding="utf-8").splitlines():
                    parent = line.split(":", 1)[1].strip() if line.startswith("extends:") else ""
                    if parent.endswith(".yaml") and "/" not in parent:  # a sibling, copied under its new name
                        line = f"extends: {tag}_{Path(parent).stem}_{i}.yaml"
                    if not line.startswith("package:"):
                        lines.append(line)
                text = "\n".join(lines) + f"\npackage: copy{i}.{tag}\n"
                (target / f"{tag}_{spec.stem}_{i}.yaml").write_text(text, encoding="utf-8")
        paths.append(str(target))
    return paths


def bench_build_scaling(args, run, tmp_path: Path, shipped: list[str], counter) -> dict:
    """`metricgen build` of every shipped spec ×1, ×2, ×4: {k: ((cold s, warm s), specs)}, min of interleaved runs;
    cold runs get an empty cache and output folder each, warm runs rebuild what a first build wrote, with its
    cache (its build records and black's output)."""
    python = sys.executable
    builds = {}
    for k in (1, 2, 4):
        paths = copy_shipped_specs(tmp_path / f"scaled-{k}", shipped, k)
        warm = tmp_path / f"cache-scaled-{k}"

        def build(cache, paths=paths, k=k):
            # warm: a rebuild into the folder the first build filled (every module up to date); cold: a fresh one
            out = tmp_path / (f"kept-{k}" if cache else f"out-{next(counter)}") / "generated"
            run([python, "-m", "metricgen", "build", *paths, "--out", str(out)], cache)

        build(warm)  # fills the warm cache
        builds[k] = (build, warm, sum(1 for p in paths for _ in Path(p).glob("*.yaml")))
    samples: dict = {(k, w): [] for k in builds for w in ("cold", "warm")}
    order = list(samples)
    for r in range(max(3, args.process_rounds // 5)):
        for k, which in order if r % 2 == 0 else order[::-1]:
            build, warm, _ = builds[k]
            start = time.perf_counter()
            build(None if which == "cold" else warm)
            samples[k, which].append(time.perf_counter() - start)
    return {k: ((min(samples[k, "cold"]), min(samples[k, "warm"])), specs) for k, (_, _, specs) in builds.items()}


def _load() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def bench_generator(report: Report, args) -> None:
    python = sys.executable
    load_before = _load()
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="metricgen-bench-") as tmp:
        tmp_path = Path(tmp)
        # Python's bytecode cache on, as a user's Python has it (pip compiles what it installs, an editable
        # install's modules are compiled at their first import): without it (PYTHONDONTWRITEBYTECODE, set on some
        # machines) every process compiles metricgen's sources again, and the floor's libraries are not. The
        # bytecode goes to a folder of the run's own, not into the checkout; the warm-up round fills it.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "bytecode")
        warm_cache = tmp_path / "cache-warm"
        counter = iter(range(10**6))

        def run(argv: list[str], cache: Optional[Path]) -> None:
            run_env = dict(env)
            if cache is None:
                cache = tmp_path / f"cache-empty-{next(counter)}"
            run_env["METRICGEN_CACHE_DIR"] = str(cache)
            done = subprocess.run(
                argv, cwd=ROOT, env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            if done.returncode != 0:
                raise SystemExit(f"{shlex.join(argv)} failed ({done.returncode}):\n{done.stderr}")

        def build(cache: Optional[Path], kept: Optional[Path] = None) -> Callable[[], None]:
            """A build into ``kept`` each time (after the first, a rebuild with every module up to date), else
            into a fresh folder."""

            def go():
                out = kept or tmp_path / f"out-{next(counter)}" / "generated"
                run([python, "-m", "metricgen", "build", "specs", "--out", str(out)], cache)

            return go

        shipped = ["specs", "catalogue/keras/specs", "catalogue/tfa/specs", "catalogue/torchmetrics/specs"]

        # one folder of every shipped spec under names of their own (two catalogues share some file names)
        shipped_copy = copy_shipped_specs(tmp_path / "shipped", shipped, 1)
        shipped_count = sum(1 for p in shipped_copy for _ in Path(p).glob("*.yaml"))

        def build_shipped(cache: Optional[Path], kept: Optional[Path] = None) -> Callable[[], None]:
            def go():
                out = kept or tmp_path / f"out-{next(counter)}" / "generated"
                run([python, "-m", "metricgen", "build", *shipped_copy, "--out", str(out)], cache)

            return go

        def check(cache: Optional[Path]) -> Callable[[], None]:
            return lambda: run([python, "-m", "metricgen", "check", "specs"], cache)

        # neither command may import TensorFlow (nor Keras, nor numpy): checked once, untimed
        imported = {}
        for command in (["build", "specs", "--out", str(tmp_path / "probe" / "generated")], ["check", "specs"]):
            done = subprocess.run(
                [python, "-c", _PROBE, *command],
                cwd=ROOT,
                env={**env, "METRICGEN_CACHE_DIR": str(warm_cache)},
                capture_output=True,
                text=True,
            )
            line = [ln for ln in done.stderr.splitlines() if ln.startswith("IMPORTED")]
            if done.returncode != 0 or not line:
                raise SystemExit(f"metricgen {command[0]} failed:\n{done.stdout}\n{done.stderr}")
            imported[command[0]] = line[-1].split()[1:]
            print(f"  metricgen {command[0]} imports: {imported[command[0]] or 'none of tensorflow/keras/numpy'}")
            assert "tensorflow" not in imported[command[0]], f"metricgen {command[0]} imports tensorflow"

        floor_argv = [python, "-c", "import black, jinja2, pydantic, click"]
        candidates = {
            "floor": lambda: subprocess.run(floor_argv, cwd=ROOT, env=env, check=True),
            "build": build(warm_cache, tmp_path / "kept" / "generated"),
            "check": check(warm_cache),
            "build-nocache": build(None),
            "check-nocache": check(None),
            "build-shipped": build_shipped(warm_cache, tmp_path / "kept-shipped" / "generated"),
            "build-shipped-empty-out": build_shipped(warm_cache),
            "build-shipped-nocache": build_shipped(None),
        }
        samples = {name: [] for name in candidates}
        for fn in candidates.values():  # warm the OS file cache and the format cache
            fn()
        order = list(candidates)
        for r in range(args.process_rounds):
            for name in (order if r % 2 == 0 else order[::-1]):
                start = time.perf_counter()
                candidates[name]()
                samples[name].append(time.perf_counter() - start)
        # min of the repeats: the machine is shared, and the least disturbed run is the closest to its cost
        times = {name: min(values) for name, values in samples.items()}
        scaling = bench_build_scaling(args, run, tmp_path, shipped, counter)
        load_after = _load()
    floor = times["floor"]
    for name, label in (
        ("build", "metricgen build specs/ (up to date, cache warm)"),
        ("build-nocache", "metricgen build specs/ (no cache)"),
        ("check", "metricgen check specs/ (up to date, cache warm)"),
        ("check-nocache", "metricgen check specs/ (no cache)"),
    ):
        report.add(
            Row(
                "generator",
                label,
                "cold",
                times[name],
                floor,
                'python -c "import black, jinja2, pydantic, click"',
                2.5,
                note=f"wall {times[name]:.3f} s (target < 1 s)",
            )
        )
    for name, label, target_s in (
        ("build-shipped", "metricgen build of every shipped spec (up to date, cache warm)", 0.6),
        ("build-shipped-empty-out", "metricgen build of every shipped spec (cache warm, empty output folder)", 0.6),
        ("build-shipped-nocache", "metricgen build of every shipped spec (no cache)", 2.0),
    ):
        report.add(
            Row(
                "generator",
                label,
                "cold",
                times[name],
                floor,
                'python -c "import black, jinja2, pydantic, click"',
                target_s / floor,
                note=f"wall {times[name]:.3f} s (target ≤ {target_s:g} s; {shipped_count} specs)",
            )
        )
    for which in ("", "-nocache"):
        report.add(
            Row(
                "generator",
                f"check / build{' (no cache)' if which else ' (up to date)'}",
                "cold",
                times["check" + which],
                times["build" + which],
                "metricgen build specs/",
                1.0,
            )
        )
    for k, ((cold, warm), specs) in scaling.items():
        if k == 1:
            continue
        for which, seconds, base in (
            ("no cache", cold, scaling[1][0][0]),
            ("up to date, cache warm", warm, scaling[1][0][1]),
        ):
            report.add(
                Row(
                    "generator",
                    f"build of every shipped spec ×{k} ({which})",
                    "cold",
                    seconds,
                    base,
                    "the same build of ×1",
                    float(k),
                    note=f"{specs} specs; wall {seconds:.3f} s; linear growth: ratio ≤ {k}",
                )
            )
    report.extra.append(
        "Build scaling (copies of every shipped spec in a temporary folder, each under its own file name and "
        "Keras package; tf target; min of "
        f"{max(3, args.process_rounds // 5)} interleaved runs): "
        + ", ".join(
            f"×{k} ({specs} specs) {cold:.2f} s cold, {warm:.2f} s up to date"
            for k, ((cold, warm), specs) in scaling.items()
        )
        + f". Load average (1/5/15 min) before and after the generator section: {load_before}, {load_after}."
    )
    report.extra.append(
        f"Generator processes (min of {args.process_rounds} interleaved cold runs): floor "
        f"{floor:.3f} s, build {times['build']:.3f} s, check {times['check']:.3f} s with their modules up to date "
        "and the cache warm; "
        f"build {times['build-nocache']:.3f} s, check {times['check-nocache']:.3f} s with an empty one. "
        f"Modules they import of tensorflow/keras/numpy: build {imported['build'] or 'none'}, "
        f"check {imported['check'] or 'none'}."
    )


# -- the report --------------------------------------------------------------------------------------------


MSE_SPEC = """
name: mean_squared_error
class_name: MeanSquaredError
description: mean of (y_pred - y_true)^2 over every element
higher_is_better: false
state:
  total: {}
  count: {}
update:
  total: weighted_sum(square(y_pred - y_true))
  count: weighted_count(y_true)
result: total / count
"""


def bench_torchmetrics(report: Report, args, np) -> None:
    """The torchmetrics target against torchmetrics' built-ins, on the CPU: one update + compute per call."""
    import torch
    import torchmetrics

    sys.path.insert(0, str(ROOT))
    from metricgen.compiler import generate_from_text

    def generated(stem: str):
        name = f"benchmark_torchmetrics_{stem}"
        spec = importlib.util.spec_from_file_location(name, GENERATED / "torchmetrics" / f"{stem}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    mse_module = type(sys)("benchmark_torchmetrics_mse")
    exec(compile(generate_from_text(MSE_SPEC, "mse.yaml", "torchmetrics"), "mse.py", "exec"), mse_module.__dict__)
    classes = 20
    cases = [
        (
            "F1",
            lambda: generated("stateful_f1").StatefulF1Score(threshold=0.5),
            lambda: torchmetrics.classification.BinaryF1Score(threshold=0.5),
            "BinaryF1Score(threshold=0.5)",
            "binary",
        ),
        (
            "Precision",
            lambda: generated("running_average_precision").RunningAveragePrecision(threshold=0.5),
            lambda: torchmetrics.classification.BinaryPrecision(threshold=0.5),
            "BinaryPrecision(threshold=0.5)",
            "binary",
        ),
        (
            "MeanAveragePrecision C=20",
            lambda: generated("mean_average_precision").MeanAveragePrecision(num_classes=classes, num_thresholds=200),
            lambda: torchmetrics.classification.MultilabelAveragePrecision(
                num_labels=classes, average="macro", thresholds=200
            ),
            "MultilabelAveragePrecision(average=macro, thresholds=200)",
            "multilabel",
        ),
        (
            "MeanSquaredError",
            lambda: mse_module.MeanSquaredError(),
            lambda: torchmetrics.MeanSquaredError(),
            "MeanSquaredError()",
            "regression",
        ),
    ]
    rng = np.random.default_rng(3)
    for batch in args.batch_sizes:
        data = {
            "binary": ((rng.uniform(size=batch) > 0.5).astype("float32"), rng.uniform(size=batch).astype("float32")),
            "multilabel": (
                (rng.uniform(size=(batch, classes)) > 0.7).astype("float32"),
                rng.uniform(size=(batch, classes)).astype("float32"),
            ),
            "regression": (rng.normal(size=batch).astype("float32"), rng.normal(size=batch).astype("float32")),
        }
        for title, make, make_ref, reference, kind in cases:
            y_true, y_pred = (torch.as_tensor(a) for a in data[kind])
            target = y_true.int() if kind != "regression" else y_true

            def ours(metric=make()):
                metric.update(y_true, y_pred)
                return metric.compute()

            def theirs(metric=make_ref()):
                metric.update(y_pred, target)
                return metric.compute()

            def again(metric=make_ref()):
                metric.update(y_pred, target)
                return metric.compute()

            if kind != "multilabel":  # AP: ours buckets scores above thresholds, theirs at or above them
                _same_value(
                    {
                        "gen": float(make_checked(make, y_true, y_pred)),
                        "ref": float(make_checked(make_ref, y_pred, target)),
                    },
                    f"torchmetrics {title}",
                )
            times = interleaved({"gen": ours, "ref": theirs, "same": again}, args.rounds, args.round_ms)
            report.add(
                Row(
                    "torchmetrics",
                    f"{title} B={batch}",
                    "eager",
                    times["gen"],
                    times["ref"],
                    f"torchmetrics {reference}",
                    1.0,
                    note=f"A/A: {times['ref'] / times['same']:.2f}x",
                )
            )


CATALOGUE_PASSES = 3


def bench_catalogue(report: Report, args, tf, keras, np) -> None:
    """Every class of the Keras catalogue (catalogue/keras/generated/, the tf target) against keras.metrics'
    own, on its first test configuration (tests/keras_catalogue_cases.py) at each batch of --catalogue-batch,
    graph and XLA, the four candidates of a class interleaved; and AUC (ROC and PR, 200 and 1000 thresholds).
    A row's ratio is the median over rounds of the round's generated / reference time: the two are timed back
    to back in every round, so that the machine's drift between rounds falls on both; a row's rounds are spread
    over CATALOGUE_PASSES passes over the catalogue."""
    sys.path.insert(0, str(ROOT / "tests"))
    from keras_catalogue_cases import first_of_each_class

    first = {case.class_name: case for case in first_of_each_class()}
    runs = [(name, case, batch) for batch in args.catalogue_batch for name, case in first.items()]
    auc = first["AUC"]
    # AUC's own rows: enough scores that bucketing them, not the call, is what is timed
    runs += [
        (
            f"AUC {curve} T={t}",
            type(auc)(auc.id, auc.stem, "AUC", {"curve": curve, "num_thresholds": t}, auc.make),
            args.auc_batch,
        )
        for curve in ("ROC", "PR")
        for t in (200, 1000)
    ]
    rng = np.random.default_rng(5)
    prepared = []
    for title, case, size in runs:
        module_name = f"benchmark_catalogue_{case.stem}"
        if module_name not in sys.modules:
            spec = importlib.util.spec_from_file_location(module_name, CATALOGUE / "generated" / f"{case.stem}.py")
            sys.modules[module_name] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(sys.modules[module_name])
        ours = getattr(sys.modules[module_name], case.class_name)
        theirs = getattr(keras.metrics, case.class_name)
        batch = [tf.constant(v) for v in case.make(rng, size).values()]
        candidates, checks = {}, {}
        for mode, jit in (("graph", False), ("xla", True)):
            for who, cls in (("gen", ours), ("ref", theirs)):
                metric = cls(**case.kwargs)

                @tf.function(jit_compile=jit, reduce_retracing=True)
                def call(*inputs, metric=metric):
                    metric.update_state(*inputs)
                    return metric.result()

                try:
                    checks[f"{who}/{mode}"] = np.asarray(call(*batch)).astype("float64").ravel()
                except Exception as error:  # noqa: BLE001 - a built-in that XLA cannot compile is reported
                    checks[f"{who}/{mode}"] = f"{type(error).__name__}"
                    continue
                candidates[f"{who}/{mode}"] = lambda call=call, batch=batch: call(*batch)
        for mode in ("graph", "xla"):
            gen, ref = checks.get(f"gen/{mode}"), checks.get(f"ref/{mode}")
            if isinstance(gen, np.ndarray) and isinstance(ref, np.ndarray):
                # both were fed the batch once already: their values must agree
                if not np.allclose(gen, ref, rtol=1e-4, atol=1e-5, equal_nan=True):
                    raise SystemExit(f"{title} ({mode}): generated {gen} vs keras {ref}: a meaningless comparison")
        prepared.append((title, case, size, candidates, checks))

    timed = rounds_over_passes([p[3] for p in prepared], args.rounds, args.round_ms, CATALOGUE_PASSES, "catalogue  ")
    for (title, case, size, _, checks), samples in zip(prepared, timed):
        limit = 0.7 if title.startswith("AUC ") else 1.1
        for mode in ("graph", "xla"):
            gen, ref = samples.get(f"gen/{mode}"), samples.get(f"ref/{mode}")
            if gen and ref:
                paired, q1, q3 = paired_ratios(gen, ref)
                report.add(
                    Row(
                        "catalogue",
                        title,
                        mode,
                        statistics.median(gen),
                        statistics.median(ref),
                        f"keras.metrics.{case.class_name}",
                        limit,
                        note=", ".join(f"{k}={v}" for k, v in case.kwargs.items() if not callable(v)),
                        batch=size,
                        paired=paired,
                        spread=(q1, q3),
                    )
                )
            else:
                failed = {k: v for k, v in checks.items() if k.endswith(mode) and not isinstance(v, np.ndarray)}
                print(f"  catalogue  {title:<34} {mode:<6} not timed: {failed}", flush=True)
                report.extra.append(f"- {title} ({mode}): not timed, {failed}")


def catalogue_markdown(report: Report, args, command: str, info: list[str]) -> str:
    rows = [r for r in report.rows if r.section == "catalogue"]
    batches = ", ".join(f"{b:,}" for b in args.catalogue_batch)
    lines = [
        CATALOGUE_START,
        "",
        f"Command: `{command}`; batches of {batches} (AUC rows: {args.auc_batch:,} × 3 scores), "
        f"{args.rounds} interleaved rounds of ~{args.round_ms:g} ms per candidate, spread over {CATALOGUE_PASSES} "
        "passes over the catalogue. Times: medians over the rounds; "
        "ratio: the median over the rounds of the round's generated / keras.metrics time (timed back to back).",
        "",
        *info,
        "",
        "| class | batch | mode | generated | keras.metrics | ratio | rounds' ratios (quartiles) | target | | arguments |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        spread = f"{row.spread[0]:.2f}–{row.spread[1]:.2f}" if row.spread else ""
        lines.append(
            f"| {row.case} | {row.batch:,} | {row.mode} | {_fmt_time(row.generated_s)} | "
            f"{_fmt_time(row.reference_s)} | {row.ratio:.2f}× | {spread} | ≤ {row.limit:g}× | "
            f"{'ok' if row.ok else '**missed**'} | {row.note} |"
        )
    lines.append("")
    for batch in args.catalogue_batch:
        for mode in ("graph", "xla"):
            ratios = [r.ratio for r in rows if r.mode == mode and r.batch == batch and not r.case.startswith("AUC ")]
            if ratios:
                geomean = statistics.geometric_mean(ratios)
                over = [r.case for r in rows if r.mode == mode and r.batch == batch and not r.ok]
                lines.append(
                    f"- batch {batch:,}, {mode}: geometric mean of the {len(ratios)} classes' ratios {geomean:.2f}× "
                    f"(target ≤ 0.95×: {'met' if geomean <= 0.95 else '**missed**'}); slowest {max(ratios):.2f}×, "
                    f"fastest {min(ratios):.2f}×; over their target: {', '.join(over) or 'none'}"
                )
    lines += ["", CATALOGUE_END]
    return "\n".join(lines) + "\n"


def make_checked(factory, a, b):
    metric = factory()
    metric.update(a, b)
    return metric.compute()


def machine_info(tf=None, keras=None, np=None) -> list[str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = [f"python {platform.python_version()}"]
    for name, module in (("tensorflow", tf), ("keras", keras), ("numpy", np)):
        if module is not None:
            versions.append(f"{name} {module.__version__}")
    from importlib.metadata import version

    for name in ("torch", "torchmetrics", "black", "jinja2", "pydantic", "click"):
        try:
            versions.append(f"{name} {version(name)}")
        except Exception:  # noqa: BLE001 - informational only
            pass
    return [
        f"- Machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"- Versions: {', '.join(versions)}",
        f"- Date: {datetime.date.today().isoformat()}",
    ]


def markdown(report: Report, args, command: str, info: list[str], elapsed: float) -> str:
    report = Report([r for r in report.rows if r.section != "catalogue"], report.extra)
    lines = [
        START,
        "",
        f"Command: `{command}` (took {elapsed / 60:.1f} min)",
        "",
        *info,
        f"- Settings: {args.rounds} interleaved rounds of ~{args.round_ms:g} ms per candidate (metrics), "
        f"{args.process_rounds} rounds (processes); batch sizes {', '.join(map(str, args.batch_sizes))}",
        "",
        "Times are medians per call (one update_state + result); ratio = generated / reference; "
        "graph = `tf.function`, xla = `tf.function(jit_compile=True)`.",
        "",
        "| benchmark | against | mode | generated | reference | ratio | target | | notes |",
        "|---|---|---|---:|---:|---:|---:|---|---|",
    ]
    for row in report.rows:
        lines.append(
            f"| {row.case} | {row.reference} | {row.mode} | {_fmt_time(row.generated_s)} | "
            f"{_fmt_time(row.reference_s)} | {row.ratio:.2f}× | ≤ {row.limit:g}× | "
            f"{'ok' if row.ok else '**missed**'} | {row.note} |"
        )
    for block in report.extra:
        lines += ["", block]
    lines += ["", END]
    return "\n".join(lines) + "\n"


def write_doc(text: str, start: str = START, end: str = END) -> None:
    """Replaces the block between the markers (the rest of the page is prose, kept as it is)."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    if DOC.exists():
        old = DOC.read_text(encoding="utf-8")
        if start in old and end in old:
            head, rest = old.split(start, 1)
            tail = rest.split(end, 1)[1]
            DOC.write_text(head + text.rstrip("\n") + tail, encoding="utf-8")
            return
        DOC.write_text(old.rstrip("\n") + "\n\n" + text, encoding="utf-8")
        return
    DOC.write_text("# Benchmarks\n\n" + text, encoding="utf-8")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per comparison (metrics)")
    parser.add_argument("--round-ms", type=float, default=25.0, help="time per candidate per round (metrics)")
    parser.add_argument("--process-rounds", type=int, default=15, help="interleaved rounds (generator processes)")
    parser.add_argument("--batch-sizes", default="256,4096")
    parser.add_argument("--thresholds", default="200,1000")
    parser.add_argument("--classes", default="20,200")
    parser.add_argument(
        "--catalogue-batch",
        default="1024,65536",
        help="batch sizes of the catalogue section, comma-separated: a call's dispatch, and the arithmetic",
    )
    parser.add_argument("--auc-batch", type=int, default=16384, help="batch size of the catalogue's AUC rows")
    parser.add_argument("--quick", action="store_true", help="5 rounds of ~10 ms, 3 process rounds; implies --no-write")
    parser.add_argument("--no-write", action="store_true", help=f"do not rewrite {DOC.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    args.thresholds = [int(t) for t in args.thresholds.split(",")]
    args.classes = [int(c) for c in args.classes.split(",")]
    args.catalogue_batch = [int(b) for b in args.catalogue_batch.split(",")]
    if args.quick:
        args.rounds, args.round_ms, args.process_rounds, args.no_write = 5, 10.0, 3, True
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")

    started = time.perf_counter()
    report = Report()
    tf = keras = np = None
    if set(sections) - {"generator", "fit", "tm-catalogue"}:  # fit runs each Keras backend in a process of its own
        import numpy as np
        import tensorflow as tf
        import keras

        tf.get_logger().setLevel("ERROR")
    info = machine_info(tf, keras, np)
    print("\n".join(info), flush=True)
    print(f"  {'section':<10} {'case':<34} {'mode':<6} {'generated':>10} {'reference':>10}  ratio", flush=True)
    for section in sections:
        if section in ("f1", "precision"):
            bench_binary(report, args, tf, keras, np, section)
        elif section == "map":
            bench_map(report, args, tf, keras, np)
        elif section == "dice":
            bench_dice(report, args, tf, keras, np)
        elif section == "torchmetrics":
            bench_torchmetrics(report, args, np)
        elif section == "catalogue":
            bench_catalogue(report, args, tf, keras, np)
        elif section == "generator":
            bench_generator(report, args)
        elif section == "fit":
            from fit_step import bench_fit, fit_settings

            bench_fit(fit_settings(args.quick), write=not args.no_write, command="python benchmarks/run.py --only fit")
        elif section == "tm-catalogue":
            from torchmetrics_catalogue import bench as bench_tm_catalogue, settings as tm_settings

            command = "python benchmarks/run.py --only tm-catalogue"
            bench_tm_catalogue(tm_settings(args.quick), write=not args.no_write, command=command)
    elapsed = time.perf_counter() - started
    command = "python benchmarks/run.py" + (
        "" if argv is None and len(sys.argv) == 1 else " " + shlex.join(sys.argv[1:] if argv is None else argv)
    )
    text = markdown(report, args, command, info, elapsed)
    missed = [row for row in report.rows if not row.ok]
    print(f"\n{len(report.rows) - len(missed)} of {len(report.rows)} targets hold ({elapsed / 60:.1f} min)")
    if not args.no_write:
        if set(sections) - {"catalogue", "fit", "tm-catalogue"}:
            write_doc(text)
        if "catalogue" in sections:
            write_doc(catalogue_markdown(report, args, command, info), CATALOGUE_START, CATALOGUE_END)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
