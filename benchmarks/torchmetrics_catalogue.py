#!/usr/bin/env python
"""The torchmetrics catalogue's classes (the torchmetrics target) against torchmetrics' own, on the CPU (issue 22).

Run from the repository root (not part of the test suite):

    .venv/bin/python benchmarks/torchmetrics_catalogue.py            # prints, rewrites its block in docs/benchmarks.md
    .venv/bin/python benchmarks/torchmetrics_catalogue.py --quick    # fewer rounds, no file written: a smoke run
    .venv/bin/python benchmarks/run.py --only tm-catalogue           # the same, as a section of the main benchmark

Method. Every class of catalogue/torchmetrics/ on the first configuration of its tests
(tests/torchmetrics_catalogue_cases.py), made with the same arguments as torchmetrics' class of that name; a
sample buffer's bound (max_samples, ours only) is left at its default, 100,000, as a user who switches the
import leaves it (`--bound-to-batch` makes it the batch size, as the runs before 2026-12-07 10:30 UTC did). A call is what a user's evaluation step costs for one batch: reset, update, compute (reset
first, so that a buffer holds one batch, and torchmetrics' list states do not grow from call to call). The two
classes of a row are timed interleaved, a row's rounds spread over three passes (run.rounds_over_passes)
over the catalogue (a burst of load on a shared machine falls on a third of them); a figure is the median per
call, and ratio = the median over rounds of each round's ours / torchmetrics' (run.paired_ratios). Before timing, both values of the row are checked to agree.
"""

from __future__ import annotations

import argparse
import math
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import DOC, ROOT, _fmt_time, machine_info, paired_ratios, rounds_over_passes, write_doc  # noqa: E402

START, END = "<!-- torchmetrics-catalogue-benchmark:start -->", "<!-- torchmetrics-catalogue-benchmark:end -->"
LIMIT_GEOMEAN, LIMIT_ROW = 1.0, 1.5  # issue 22's targets


def settings(quick: bool) -> dict:
    return {"batches": [1024, 65536], "rounds": 5 if quick else 11, "round_ms": 10.0 if quick else 30.0, "passes": 3}


def rows(settings: dict, only: Optional[str] = None) -> list[dict]:
    """Each row's rounds, spread over ``settings["passes"]`` passes over the whole catalogue: a burst of load on
    the machine (another job for a minute) then falls on a third of a row's rounds, which the median over them
    leaves out, and not on all of them."""
    import numpy as np
    import torch

    sys.path.insert(0, str(ROOT / "tests"))
    from support import in_torchmetrics_order  # noqa: E402
    from torchmetrics_catalogue_cases import first_of_each_class  # noqa: E402
    from torchmetrics_catalogue_run import GENERATED, load, torchmetrics_class  # noqa: E402

    def call(metric, inputs):
        def run():
            metric.reset()
            metric.update(*inputs)
            return metric.compute()

        return run

    prepared = []
    for case in first_of_each_class():
        if only and only not in case.class_name:
            continue
        for batch in settings["batches"]:
            rng = np.random.default_rng(0)
            inputs = in_torchmetrics_order({k: torch.as_tensor(v) for k, v in case.make(rng, batch).items()})
            ours_kwargs = {k: v for k, v in case.ours.items() if k != "max_samples"}  # the class's default
            if settings.get("bound_to_batch") and "max_samples" in case.ours:
                ours_kwargs["max_samples"] = batch
            ours, theirs = load(case, GENERATED / "torchmetrics")(**ours_kwargs), torchmetrics_class(case)(
                **case.kwargs
            )
            candidates = {"ours": call(ours, inputs), "theirs": call(theirs, inputs)}
            got, expected = candidates["ours"](), candidates["theirs"]()
            np.testing.assert_allclose(
                got.double().numpy(), expected.double().numpy(), rtol=1e-3, atol=1e-4, equal_nan=True
            )
            prepared.append((case.class_name, batch, candidates))

    timed = rounds_over_passes([p[2] for p in prepared], settings["rounds"], settings["round_ms"], settings["passes"])
    results = []
    for (class_name, batch, _), samples in zip(prepared, timed):
        ours_s, theirs_s = statistics.median(samples["ours"]), statistics.median(samples["theirs"])
        ratio, q1, q3 = paired_ratios(samples["ours"], samples["theirs"])
        row = {"class": class_name, "batch": batch, "ours": ours_s, "theirs": theirs_s, "ratio": ratio}
        results.append({**row, "quartiles": (q1, q3)})
        print(
            f"  {class_name:<40} B={batch:<6} {_fmt_time(ours_s):>10} {_fmt_time(theirs_s):>10}  {ratio:5.2f}x",
            flush=True,
        )
    return results


def geometric_mean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def markdown(results: list[dict], settings: dict, command: str, info: list[str], elapsed: float) -> str:
    batches = settings["batches"]
    by_class: dict[str, dict[int, dict]] = {}
    for r in results:
        by_class.setdefault(r["class"], {})[r["batch"]] = r
    means = {b: geometric_mean([r["ratio"] for r in results if r["batch"] == b]) for b in batches}
    over = [r for r in results if r["ratio"] > LIMIT_ROW]
    lines = [
        START,
        f"`{command}` ({elapsed / 60:.1f} min): every class of the torchmetrics catalogue (the torchmetrics target) "
        "against torchmetrics' class of the same name and arguments, on the first configuration of its tests; a call "
        "is reset + update + compute of one batch on CPU tensors; interleaved, times the median of "
        f"{settings['rounds']} rounds (spread over {settings['passes']} passes over the catalogue), a ratio the "
        "median of each round's (ours and theirs timed back to back; the rounds' quartiles beside it). "
        + (
            "A sample buffer's bound is the batch size."
            if settings.get("bound_to_batch")
            else "A sample buffer's bound is its default, 100,000 (what a user who switches the import gets)."
        ),
        "",
        "| batch | geometric mean (≤ 1.0×) | rows over 1.5× | worst |",
        "|---:|---:|---:|---|",
    ]
    for b in batches:
        worst = max((r for r in results if r["batch"] == b), key=lambda r: r["ratio"])
        misses = sum(1 for r in over if r["batch"] == b)
        lines.append(
            f"| {b:,} | {means[b]:.2f}× {'(met)' if means[b] <= LIMIT_GEOMEAN else '(**missed**)'} | "
            f"{misses} | {worst['class']} {worst['ratio']:.2f}× |"
        )
    lines += ["", "| class | " + " | ".join(f"B={b:,} ours / theirs" for b in batches) + " |"]
    lines.append("|---|" + "---:|" * len(batches))
    for name, per in by_class.items():
        cells = [
            f"{_fmt_time(per[b]['ours'])} / {_fmt_time(per[b]['theirs'])} = "
            + (f"**{per[b]['ratio']:.2f}×**" if per[b]["ratio"] > LIMIT_ROW else f"{per[b]['ratio']:.2f}×")
            + " ({:.2f}–{:.2f})".format(*per[b]["quartiles"])
            for b in batches
            if b in per
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", *info, END]
    return "\n".join(lines)


def bench(settings: dict, write: bool, command: str, only: Optional[str] = None) -> list[dict]:
    started = time.perf_counter()
    results = rows(settings, only)
    elapsed = time.perf_counter() - started
    text = markdown(results, settings, command, machine_info(), elapsed)
    print(text.split("\n\n| class")[0])
    if write:
        write_doc(text, START, END)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return results


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 rounds of ~10 ms; implies --no-write")
    parser.add_argument("--no-write", action="store_true", help=f"do not rewrite {DOC.relative_to(ROOT)}")
    parser.add_argument("--only", help="classes whose name contains this (implies --no-write)")
    parser.add_argument(
        "--bound-to-batch", action="store_true", help="max_samples = the batch size, not its default (100,000)"
    )
    args = parser.parse_args(argv)
    command = "python benchmarks/torchmetrics_catalogue.py" + (
        " " + shlex.join(sys.argv[1:] if argv is None else argv) if (argv or len(sys.argv) > 1) else ""
    )
    bench(
        {**settings(args.quick), "bound_to_batch": args.bound_to_batch},
        not (args.quick or args.no_write or args.only),
        command,
        args.only,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
