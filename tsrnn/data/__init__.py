"""The pandas floor of tsrnn: validation, frequencies and future indices, scaling.

Everything above this package works on NumPy arrays; everything in it speaks pandas.

- :mod:`tsrnn.data.timeindex` -- index checks, frequencies, future indices, calendar features
- :mod:`tsrnn.data.validation` -- turn user input into a :class:`~tsrnn.data.validation.Panel`
  and predictions back into the user's form
- :mod:`tsrnn.data.scalers` -- per-series scalers and per-window normalisation
"""
