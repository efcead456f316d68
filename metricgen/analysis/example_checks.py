"""A spec's `examples:` checked against its declarations: params that exist and take the value given, and
batches that name every input and nothing else."""

from __future__ import annotations

from ..errors import did_you_mean
from ..params import param_rule
from .context import Context


def check_examples(ctx: Context) -> None:
    loaded = ctx.loaded
    input_names = [i.name for i in ctx.spec.inputs]
    for n, example in enumerate(ctx.spec.examples):
        for key in example.params:
            if key not in ctx.params:
                ctx.diag.error(
                    f"example sets unknown param '{key}'",
                    loaded.key_location(("examples", n, "params", key)),
                    did_you_mean(key, ctx.params),
                )
        for p in ctx.params.values():
            if p.required and p.name not in example.params:
                ctx.diag.error(f"example needs a value for required param '{p.name}'", loaded.location(("examples", n)))
            elif p.name in example.params and p.type != "callable":
                problem = param_rule(p).problem(example.params[p.name])
                if problem:
                    ctx.diag.error(
                        f"example value of param '{p.name}' {problem}",
                        loaded.location(("examples", n, "params", p.name)),
                    )
        if isinstance(example.expected, list) and not _numbers_of_one_shape(example.expected):
            ctx.diag.error(
                "example expected must be a number, or nested lists of numbers of one shape",
                loaded.location(("examples", n, "expected")),
            )
        for b, batch in enumerate(example.batches):
            for key in batch:
                if key not in input_names and key != "sample_weight":
                    ctx.diag.error(
                        f"example batch has unknown input '{key}'",
                        loaded.key_location(("examples", n, "batches", b, key)),
                        did_you_mean(key, input_names + ["sample_weight"]),
                    )
            for name in input_names:
                if name not in batch:
                    ctx.diag.error(
                        f"example batch is missing input '{name}'", loaded.location(("examples", n, "batches", b))
                    )


def _numbers_of_one_shape(value: object) -> bool:
    def shape(v: object):
        if isinstance(v, list):
            shapes = {shape(item) for item in v}
            return None if len(shapes) > 1 or None in shapes else (len(v),) + (shapes.pop() if shapes else ())
        return () if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    return shape(value) is not None
