"""Low-level layer: network spec, flat parameters, initialisers, trainer."""

from tsrnn.nn.network import Network

__all__ = ["Network"]
