"""metricgen: declarative YAML specs → streaming Keras metric classes.

The generator never imports TensorFlow; only `metricgen test` (and the generated modules) do.
"""

__version__ = "0.1.0"
