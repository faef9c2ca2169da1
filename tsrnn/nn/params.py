"""Flat parameter vector with named views in PyTorch's names and layouts."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tsrnn.kernels.activations import N_GATES
from tsrnn.nn.family import FAMILY_CELLS, family_layout, family_offsets


@dataclass(frozen=True)
class ParamLayout:
    """Where each named parameter lives in the flat vector.

    Names follow ``torch.nn.LSTM/GRU/RNN`` (prefix ``rnn.``) and ``torch.nn.Linear``
    (prefix ``head.``), so ``state_dict`` keys and shapes are PyTorch's.
    """

    cell_code: int
    input_size: int
    hidden_size: int
    num_layers: int
    output_size: int
    names: tuple = field(default_factory=tuple)
    shapes: tuple = field(default_factory=tuple)
    starts: tuple = field(default_factory=tuple)
    num_directions: int = 1

    @classmethod
    def build(cls, cell_code, input_size, hidden_size, num_layers, output_size,
              bidirectional=False):
        G = N_GATES[cell_code]
        D = 2 if bidirectional else 1
        names, shapes = [], []
        if cell_code in FAMILY_CELLS:
            if bidirectional:
                raise ValueError(f"bidirectional=True is available for cell='elman', 'lstm' and "
                                 f"'gru', not for cell={FAMILY_CELLS[cell_code]!r}")
            names, shapes = family_layout(cell_code, input_size, hidden_size, num_layers,
                                          output_size)
            names, shapes = list(names), [tuple(s) for s in shapes]
        for l in range(num_layers if cell_code not in FAMILY_CELLS else 0):
            in_l = input_size if l == 0 else D * hidden_size
            for suffix in ("", "_reverse")[:D]:
                names += [f"rnn.weight_ih_l{l}{suffix}", f"rnn.weight_hh_l{l}{suffix}",
                          f"rnn.bias_ih_l{l}{suffix}", f"rnn.bias_hh_l{l}{suffix}"]
                shapes += [(G * hidden_size, in_l), (G * hidden_size, hidden_size),
                           (G * hidden_size,), (G * hidden_size,)]
        if cell_code not in FAMILY_CELLS:
            names += ["head.weight", "head.bias"]
            shapes += [(output_size, D * hidden_size), (output_size,)]
        starts, pos = [], 0
        for s in shapes:
            starts.append(pos)
            pos += int(np.prod(s))
        return cls(cell_code, input_size, hidden_size, num_layers, output_size,
                   tuple(names), tuple(shapes), tuple(starts), D)

    @property
    def suffixes(self) -> tuple:
        """Name suffix of each direction: ``("",)`` or ``("", "_reverse")``."""
        return ("", "_reverse")[: self.num_directions]

    @property
    def size(self) -> int:
        return self.starts[-1] + int(np.prod(self.shapes[-1]))

    @property
    def n_gates(self) -> int:
        return N_GATES[self.cell_code]

    def offsets(self):
        """(L * D, 4) int64 offsets of W_ih, W_hh, b_ih, b_hh (row ``l * D + d`` for
        layer ``l``, direction ``d``) and (2,) of the head."""
        if self.cell_code in FAMILY_CELLS:
            return family_offsets(self.names, self.shapes)
        L = self.num_layers * self.num_directions
        rnn = np.asarray(self.starts[: 4 * L], dtype=np.int64).reshape(L, 4)
        head = np.asarray(self.starts[4 * L:], dtype=np.int64)
        return np.ascontiguousarray(rnn), np.ascontiguousarray(head)

    def view(self, flat, name):
        """A writable view of parameter ``name`` inside ``flat``."""
        try:
            k = self.names.index(name)
        except ValueError:
            raise KeyError(f"unknown parameter {name!r}; known: {', '.join(self.names)}") from None
        n = int(np.prod(self.shapes[k]))
        return flat[self.starts[k]: self.starts[k] + n].reshape(self.shapes[k])

    def views(self, flat):
        return {name: self.view(flat, name) for name in self.names}
