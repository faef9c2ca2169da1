"""Small real data sets for examples, tests and benchmarks.

``load_airline`` returns the Box & Jenkins airline passengers series.
"""

from ._base import load_airline

__all__ = ["load_airline"]
