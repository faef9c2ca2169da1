"""Small real data sets for examples, tests and benchmarks.

``load_airline`` returns the Box & Jenkins airline passengers series; ``load_nab`` a
Numenta Anomaly Benchmark series (NYC taxi) with its labelled anomaly windows.
"""

from ._base import NABSeries, load_airline, load_nab

__all__ = ["NABSeries", "load_airline", "load_nab"]
