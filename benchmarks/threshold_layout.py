#!/usr/bin/env python
"""A threshold metric of the Keras catalogue (the tf target) against Keras' own, update + result per call in a
tf.function, graph and XLA, interleaved (run.interleaved), on 4,096 x 5 scores: uneven, evenly spread and no
thresholds. Issue 24's Precision row.

    .venv/bin/python benchmarks/threshold_layout.py catalogue/keras/generated/precision.py Precision
    .venv/bin/python benchmarks/threshold_layout.py catalogue/keras/generated/recall.py Recall
"""

import sys, importlib.util

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import numpy as np, tensorflow as tf, keras
from run import interleaved

path, cls = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("m", path)
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
rng = np.random.default_rng(0)
y_true = tf.constant((rng.random((4096, 5)) > 0.5).astype("float32"))
y_pred = tf.constant(rng.random((4096, 5)).astype("float32"))
out = {}
for name, kw in [
    ("uneven", {"thresholds": [0.2, 0.4, 0.6, 0.8]}),
    ("even", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}),
    ("none", {}),
]:
    for jit in (False, True):
        ours, theirs = getattr(m, cls)(**kw), getattr(keras.metrics, cls)(**kw)
        fo = tf.function(lambda: (ours.update_state(y_true, y_pred), ours.result())[1], jit_compile=jit)
        ft = tf.function(lambda: (theirs.update_state(y_true, y_pred), theirs.result())[1], jit_compile=jit)
        t = interleaved({"ours": fo, "theirs": ft}, 9, 30.0)
        print(
            f"{cls} {name:7} {'xla ' if jit else 'graph'} ours {t['ours']*1e6:7.0f}us keras {t['theirs']*1e6:7.0f}us ratio {t['ours']/t['theirs']:.2f}",
            flush=True,
        )
