"""The child process `metricgen test` runs examples in: `python -m metricgen.example_child TARGET SPEC...`.

A first JSON line once the child has started (imported the target's runtime, run a warm-up spec), then one per
spec, written as soon as the spec's examples have run, so that the parent times each spec on its own and knows
which spec was running when the child ran past its time or memory limit (see examples.run_isolated).
TensorFlow, Keras or torch are imported here, never in the parent.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from .errors import SpecErrors
from .examples import run_loaded_examples, run_spec_examples
from .loader import load_spec_text
from .targets import TARGETS


def main(argv: list[str]) -> int:
    target, files = argv[0], argv[1:]
    start(target)
    print(json.dumps({"started": True}), flush=True)
    for file in files:
        line: dict = {"file": file}
        try:
            line["outcomes"] = [dataclasses.asdict(o) for o in run_spec_examples(Path(file), target)]
        except SpecErrors as exc:
            line["errors"] = [
                {
                    "message": e.message,
                    "line": e.location.line,
                    "column": e.location.column,
                    "path": e.path,
                    "hint": e.hint,
                }
                for e in exc.errors
            ]
        except ImportError as exc:
            line["missing"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - reported by the parent as the spec's error, never a traceback
            line["crash"] = f"{type(exc).__name__}: {exc}"
        line["keras_backend"] = TARGETS[target].example_backend()
        print(json.dumps(line), flush=True)
    return 0


# A spec whose examples need what every spec's do: run once before the first spec's time starts, so that
# importing the target's runtime, black and the templates, and a first update, are start-up, not a spec's time.
WARM_UP = """\
name: warm_up
class_name: WarmUp
description: run before the specs
state:
  total: {}
update:
  total: sum(y_pred)
result: total
examples:
  - batches: [{y_true: [1], y_pred: [1]}]
    expected: 1
"""


def start(target: str) -> None:
    """Imports and compiles what running examples needs; a failure is left to the first spec to report."""
    try:
        run_loaded_examples(load_spec_text(WARM_UP, "<warm-up>"), target)
    except Exception:  # noqa: BLE001 - reported where a spec needs what failed
        pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
