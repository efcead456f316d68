#!/usr/bin/env python
"""What a set of metrics adds to each step of `model.fit`: the generated classes against the Keras built-ins
they mirror, on every Keras backend (issue 24).

Run from the repository root (not part of the test suite):

    .venv/bin/python benchmarks/fit_step.py            # prints the table, rewrites its block in docs/benchmarks.md
    .venv/bin/python benchmarks/fit_step.py --quick    # fewer rounds and steps, no file written: a smoke run
    .venv/bin/python benchmarks/run.py --only fit      # the same, as a section of the main benchmark

Method. One small model (Dense(20, sigmoid) on 64 features, binary cross-entropy, SGD) is compiled once per
candidate: with no metrics, with a set of keras.metrics built-ins, with their generated twins (the keras
target, catalogue/keras/generated/keras/; under TensorFlow also the tf target, catalogue/keras/generated/),
and with the built-ins a second time. A call is one epoch of `fit` (--steps steps of --batch rows, verbose=0)
on the same arrays; the candidates of a backend, in all its compile modes, are timed interleaved by
run.interleaved (the timing the other sections use) after a warm-up epoch, and a figure is the median epoch
time / steps. A set's added time is its step minus the step with no metrics; ratio = generated added / built-in
added. The difference of two noisy numbers is noisy: the built-ins timed twice give the A/A ratio, the
distance from 1 within which a ratio is a tie. Beside it, the floor: one fused pass over a batch's scores
(the backend's compiled sum over y_pred), the least any metric reading them can cost.

Keras picks its backend when imported, so each backend runs in a child process (KERAS_BACKEND set) that
writes its figures as JSON; this process assembles the table. Before timing, the warm-up epoch's metric values
of every set are checked against the built-ins': a generated set that computes something else is not timed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import CATALOGUE, DOC, ROOT, _fmt_time, interleaved_rounds, machine_info, write_doc  # noqa: E402

FIT_START, FIT_END = "<!-- fit-benchmark:start -->", "<!-- fit-benchmark:end -->"

# each backend's compile modes: the `jit_compile` that `model.compile` gets for it
MODES = {
    "tensorflow": {"graph": False, "xla": True},
    "jax": {"jit": True},
    "torch": {"eager": False, "jit_compile": True},
}

# what a 20-output sigmoid model is watched with: (generated module's stem, class, arguments)
METRICS = (
    ("binary_accuracy", "BinaryAccuracy", {}),
    ("precision", "Precision", {}),
    ("recall", "Recall", {}),
    ("auc", "AUC", {}),
    ("f1_score", "F1Score", {"average": "macro", "threshold": 0.5}),
    ("mean_squared_error", "MeanSquaredError", {}),
)

# the sets of metrics a model is compiled with; "builtin again" is the A/A
NO_METRICS, BUILTIN, BUILTIN_AGAIN = "none", "builtin", "builtin again"
GENERATED = {"keras target": CATALOGUE / "generated" / "keras", "tf target": CATALOGUE / "generated"}
TF_ONLY = {"tf target"}  # subclasses of tf.keras.metrics.Metric: TensorFlow's backend only

TARGET_RATIO, TARGET_WORST = 1.0, 1.2  # issue 24: geometric mean over backends, and no row above


# -- one backend (the child process) ------------------------------------------------------------------------


def generated_class(folder: Path, stem: str, class_name: str):
    """Imports a generated module by path, as a user who copied the file into their project would."""
    name = f"benchmark_fit_{folder.name}_{stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, folder / f"{stem}.py")
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return getattr(sys.modules[name], class_name)


def metric_sets(keras, backend: str) -> dict:
    """Each set's name → a function making fresh instances of its metrics (named, so that each set's logs have
    the same keys: Keras would number a second instance's default name)."""

    def builtins():
        return [getattr(keras.metrics, cls)(name=stem, **kwargs) for stem, cls, kwargs in METRICS]

    def generated(folder: Path):
        return [generated_class(folder, stem, cls)(name=stem, **kwargs) for stem, cls, kwargs in METRICS]

    sets = {NO_METRICS: lambda: [], BUILTIN: builtins, BUILTIN_AGAIN: builtins}
    for target, folder in GENERATED.items():
        if backend == "tensorflow" or target not in TF_ONLY:
            sets[target] = lambda folder=folder: generated(folder)
    return sets


def floor_call(backend: str, y_pred):
    """One compiled pass over the batch's scores (a sum): what reading them once costs on this machine."""
    if backend == "tensorflow":
        import tensorflow as tf

        total = tf.function(tf.reduce_sum, jit_compile=True)
        scores = tf.constant(y_pred)
        return lambda: total(scores).numpy()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        total = jax.jit(jnp.sum)
        scores = jnp.asarray(y_pred)
        return lambda: total(scores).block_until_ready()
    import torch

    scores = torch.as_tensor(y_pred)
    return lambda: float(torch.sum(scores))  # one kernel already: compiling adds only its guard checks


def check_same_values(histories: dict, tolerance: float) -> None:
    """Every set's metrics, after the same warm-up epoch from the same weights, give the built-ins' values."""
    reference = histories[BUILTIN]
    for name, logs in histories.items():
        if set(logs) != set(reference):
            raise SystemExit(f"fit benchmark: {name} logs {sorted(logs)}, the built-ins {sorted(reference)}")
        for key, value in logs.items():
            if not math.isclose(value, reference[key], rel_tol=tolerance, abs_tol=tolerance):
                raise SystemExit(
                    f"fit benchmark: {name} gives {key} = {value}, the built-ins {reference[key]}: "
                    "the comparison would be meaningless"
                )


def counted(call):
    """`call`, counting its calls (in .calls)."""

    def counting():
        counting.calls += 1
        return call()

    counting.calls = 0
    return counting


def check_steps_ran(name: str, model, epochs: int, steps: int) -> None:
    """Every epoch ran all its steps (the optimizer counts them): a time per step means what it says."""
    ran = int(model.optimizer.iterations.numpy())
    if ran != epochs * steps:
        raise SystemExit(f"fit benchmark: {name} made {ran} optimizer steps in {epochs} epochs of {steps} steps")


def measure_backend(backend: str, settings: dict) -> dict:
    """Seconds per step of each (mode, set) in each round, and of the floor, timed interleaved in this process."""
    import keras
    import numpy as np

    # torch.compile tracing Keras' code warns, once per site, of caches it sees through: not ours to fix
    warnings.filterwarnings("ignore", message="Dynamo detected")
    rng = np.random.default_rng(24)
    rows = settings["batch"] * settings["steps"]
    x = rng.normal(size=(rows, settings["features"])).astype("float32")
    y = (rng.uniform(size=(rows, settings["outputs"])) < 0.3).astype("float32")

    def new_model():
        return keras.Sequential(
            [keras.Input((settings["features"],)), keras.layers.Dense(settings["outputs"], activation="sigmoid")]
        )

    weights = new_model().get_weights()  # every candidate starts from these: the check compares like with like

    def epoch(model):
        return model.fit(x, y, batch_size=settings["batch"], epochs=1, shuffle=False, verbose=0)

    candidates, compile_s, models = {}, {}, {}
    for mode, jit in MODES[backend].items():
        histories = {}
        for name, make in metric_sets(keras, backend).items():
            model = new_model()
            model.set_weights(weights)
            model.compile(
                optimizer=keras.optimizers.SGD(0.01), loss="binary_crossentropy", metrics=make(), jit_compile=jit
            )
            started = time.perf_counter()
            history = epoch(model)  # traces and compiles
            compile_s[f"{mode}/{name}"] = time.perf_counter() - started
            histories[name] = {key: float(values[-1]) for key, values in history.history.items()}
            candidates[f"{mode}/{name}"] = counted(lambda model=model: epoch(model))
            models[f"{mode}/{name}"] = model
        histories.pop(NO_METRICS)
        check_same_values(histories, settings["tolerance"])
        compiled = ", ".join(f"{name} {compile_s[f'{mode}/{name}']:.1f} s" for name in histories)
        print(f"  {backend}/{mode}: values agree; first epoch (tracing, compiling): {compiled}", flush=True)
    candidates["floor"] = floor_call(backend, rng.uniform(size=(settings["batch"], settings["outputs"])))
    rounds = interleaved_rounds(candidates, settings["rounds"], settings["round_ms"], warmup=1)
    for name, model in models.items():  # the first epoch, before timing, counts too
        check_steps_ran(name, model, 1 + candidates[name].calls, settings["steps"])
    floor = statistics.median(rounds.pop("floor"))
    per_step = {name: [seconds / settings["steps"] for seconds in epochs] for name, epochs in rounds.items()}
    library = importlib.import_module(backend)
    versions = f"keras {keras.__version__} on {backend} {library.__version__}"
    return {"per_step": per_step, "floor": floor, "compile_s": compile_s, "versions": versions}


# -- the table (this process) -------------------------------------------------------------------------------


def run_backend(backend: str, settings: dict) -> dict:
    """measure_backend in a fresh process whose Keras runs on `backend`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        command = [sys.executable, __file__, "--child", backend, "--settings", json.dumps(settings), "--json", out]
        done = subprocess.run([str(part) for part in command], env=env, cwd=ROOT)
        if done.returncode != 0:
            raise SystemExit(f"fit benchmark: the {backend} child failed (exit {done.returncode})")
        return json.loads(out.read_text())


def added(steps: dict, mode: str, name: str) -> float:
    """What the set `name` adds to a step: the median over rounds of its step minus the bare step of the same
    round (paired, so that a slow round of the machine falls on both)."""
    bare = steps[f"{mode}/{NO_METRICS}"]
    return statistics.median(step - bare_step for step, bare_step in zip(steps[f"{mode}/{name}"], bare))


def rows_of(figures: dict) -> list[dict]:
    """One row per backend, mode and generated set: the added times, their ratio, the A/A and the floor, each the
    median over the processes that measured the backend (`figures[backend]`: one entry a process). A process
    makes its own models and compiles its own steps, and its ratio moves more from one process to the next than
    within it (the JAX row gave 1.43× and 0.87× in two processes, A/A 1.03× and 1.02×): the median of several
    says what a user's run is likely to see, and the range (`runs`) how far one run may stray."""
    per_process = [rows_of_process(backend, one) for backend in MODES if backend in figures for one in figures[backend]]
    grouped: dict[tuple, list[dict]] = {}
    for rows in per_process:
        for row in rows:
            grouped.setdefault((row["backend"], row["mode"], row["target"]), []).append(row)
    combined = []
    for (backend, mode, target), rows in grouped.items():
        numbers = {key: statistics.median(row[key] for row in rows) for key in NUMBERS}
        combined.append(
            {"backend": backend, "mode": mode, "target": target, **numbers, "runs": [r["ratio"] for r in rows]}
        )
    return combined


NUMBERS = ("bare", "builtin", "generated", "ratio", "aa", "floor")


def rows_of_process(backend: str, figures: dict) -> list[dict]:
    """rows_of for the figures of one process."""
    rows = []
    steps, floor = figures["per_step"], figures["floor"]
    for mode in MODES[backend]:
        bare = statistics.median(steps[f"{mode}/{NO_METRICS}"])
        builtin, again = added(steps, mode, BUILTIN), added(steps, mode, BUILTIN_AGAIN)
        for target in GENERATED:
            if f"{mode}/{target}" in steps:
                generated = added(steps, mode, target)
                rows.append(
                    {
                        "backend": backend,
                        "mode": mode,
                        "target": target,
                        "bare": bare,
                        "builtin": builtin,
                        "generated": generated,
                        "ratio": generated / builtin,
                        "aa": again / builtin,
                        "floor": floor,
                    }
                )
    return rows


def verdict(ratio: float, limit: float, aa: float = 1.0) -> str:
    """ok or missed; a miss by less than the A/A's distance from 1 is still a miss, but said to be in the noise."""
    if ratio <= limit:
        return "ok"
    return "**missed** (within the A/A)" if ratio - 1 <= abs(aa - 1) else "**missed**"


def summary(rows: list[dict]) -> str:
    """The issue's target: the keras target's ratios, geometric mean over backends and modes, and the worst."""
    ratios = [row["ratio"] for row in rows if row["target"] == "keras target"]
    if not ratios or min(ratios) <= 0:
        return "- no geometric mean: an added time was not positive (noise larger than the metrics' cost)"
    geomean, worst = statistics.geometric_mean(ratios), max(ratios)
    return (
        f"- keras target, geometric mean over the {len(ratios)} backend/mode rows: {geomean:.2f}× "
        f"(target ≤ {TARGET_RATIO:g}×: {verdict(geomean, TARGET_RATIO)}); worst {worst:.2f}× "
        f"(target ≤ {TARGET_WORST:g}×: {verdict(worst, TARGET_WORST)})"
    )


def fit_markdown(rows: list[dict], settings: dict, command: str, info: list[str], elapsed: float) -> str:
    names = ", ".join(f"{cls}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})" for _, cls, kwargs in METRICS)
    lines = [
        FIT_START,
        "",
        f"Command: `{command}` (took {elapsed / 60:.1f} min)",
        "",
        *info,
        f"- Settings: Dense({settings['outputs']}, sigmoid) on {settings['features']} features, batch "
        f"{settings['batch']}, {settings['steps']} steps an epoch; {settings['rounds']} interleaved rounds "
        "(each at least 3 epochs per candidate)",
        f"- Metrics: {names}",
        "",
        "Per step: no metrics (the model's own step); added = with the set − without; ratio = generated added / "
        "built-in added; A/A = the built-ins' second instance's added / the first's (a ratio that far from 1 is a "
        f"tie); floor = one compiled sum over the batch's scores. Each backend is measured in {settings['processes']} "
        "fresh processes, in turn with the others; a figure is the median of the processes' (each process's ratio "
        "beside it).",
        "",
        "| backend | mode | generated | no metrics | built-ins add | generated add | ratio | each process | target "
        "| | A/A | floor |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for row in rows:
        runs = ", ".join(f"{r:.2f}" for r in row["runs"])
        lines.append(
            f"| {row['backend']} | {row['mode']} | {row['target']} | {_fmt_time(row['bare'])} | "
            f"{_fmt_time(row['builtin'])} | {_fmt_time(row['generated'])} | {row['ratio']:.2f}× | {runs} | "
            f"≤ {TARGET_WORST:g}× | {verdict(row['ratio'], TARGET_WORST, row['aa'])} | {row['aa']:.2f}× | "
            f"{_fmt_time(row['floor'])} |"
        )
    lines += ["", summary(rows), "", FIT_END]
    return "\n".join(lines) + "\n"


def print_rows(rows: list[dict]) -> None:
    print(f"  {'backend':<10} {'mode':<11} {'generated':<12} {'bare':>9} {'built-ins':>9} {'generated':>9}  ratio")
    for row in rows:
        print(
            f"  {row['backend']:<10} {row['mode']:<11} {row['target']:<12} {_fmt_time(row['bare']):>9} "
            f"+{_fmt_time(row['builtin']):>8} +{_fmt_time(row['generated']):>8}  {row['ratio']:5.2f}x  "
            f"(A/A {row['aa']:.2f}x, floor {_fmt_time(row['floor'])})",
            flush=True,
        )


def bench_fit(settings: dict, write: bool, command: str) -> list[dict]:
    """Every backend in its own process, then the table: printed, and written to docs/benchmarks.md."""
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    figures: dict[str, list] = {backend: [] for backend in settings["backends"]}
    for process in range(settings["processes"]):  # backends in turn, so that the machine's drift falls on each
        for backend in settings["backends"]:
            print(f"fit benchmark: {backend} (process {process + 1} of {settings['processes']}) ...", flush=True)
            figures[backend].append(run_backend(backend, settings))
    elapsed = time.perf_counter() - started
    rows = rows_of(figures)
    print_rows(rows)
    print(summary(rows), flush=True)
    print(f"fit benchmark took {elapsed / 60:.1f} min", flush=True)
    if write:
        info = machine_info() + [
            f"- Backends: {'; '.join(figures[b][0]['versions'] for b in figures)}",
            f"- Load average (1 min) {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, on "
            f"{os.cpu_count()} cores: other work shares this machine",
        ]
        write_doc(fit_markdown(rows, settings, command, info, elapsed), FIT_START, FIT_END)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return rows


DEFAULTS = {"backends": ",".join(MODES), "batch": 4096, "steps": 10, "rounds": 7, "processes": 3}
QUICK = {"steps": 2, "rounds": 3, "processes": 1}  # a smoke run


def fit_settings(quick: bool = False, **chosen) -> dict:
    """What the children measure: DEFAULTS with `chosen` over them (QUICK over both for a smoke run)."""
    settings = {**DEFAULTS, **chosen, **(QUICK if quick else {})}
    settings["backends"] = [b.strip() for b in settings["backends"].split(",") if b.strip()]
    unknown = set(settings["backends"]) - set(MODES)
    if unknown:
        raise SystemExit(f"fit benchmark: unknown backends {sorted(unknown)}; choose from {sorted(MODES)}")
    # round_ms below an epoch's time: interleaved_rounds then runs its minimum, 3 epochs a round
    return settings | {"round_ms": 25.0, "features": 64, "outputs": 20, "tolerance": 1e-4}


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backends", default=DEFAULTS["backends"], help=f"comma-separated subset of {DEFAULTS['backends']}"
    )
    parser.add_argument("--batch", type=int, default=DEFAULTS["batch"], help="rows per step")
    parser.add_argument("--steps", type=int, default=DEFAULTS["steps"], help="steps per epoch (one timed call)")
    parser.add_argument("--rounds", type=int, default=DEFAULTS["rounds"], help="interleaved rounds")
    parser.add_argument(
        "--processes",
        type=int,
        default=DEFAULTS["processes"],
        help="fresh processes per backend (median of their rows)",
    )
    parser.add_argument("--quick", action="store_true", help="2 steps, 3 rounds; implies --no-write")
    parser.add_argument("--no-write", action="store_true", help=f"do not rewrite {DOC.relative_to(ROOT)}")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # a backend: measure it, write --json
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = parser().parse_args(argv)
    if args.child:
        figures = measure_backend(args.child, json.loads(args.settings))
        Path(args.json).write_text(json.dumps(figures))
        return 0
    words = sys.argv[1:] if argv is None else argv
    command = "python benchmarks/fit_step.py" + (" " + shlex.join(words) if words else "")
    chosen = {"backends": args.backends, "batch": args.batch, "steps": args.steps, "rounds": args.rounds}
    bench_fit(fit_settings(args.quick, **chosen), write=not (args.quick or args.no_write), command=command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
