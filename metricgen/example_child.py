"""The child process `metricgen test` runs examples in: `python -m metricgen.example_child TARGET SPEC...`.

One JSON line per spec on stdout, written as soon as the spec's examples have run, so that the parent knows which
spec was running when the child ran past its time or memory limit (see examples.run_isolated). TensorFlow, Keras or
torch are imported here, never in the parent.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from .errors import SpecErrors
from .examples import run_spec_examples


def main(argv: list[str]) -> int:
    target, files = argv[0], argv[1:]
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
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
