"""The temporal graph data layer: event streams and everything around them."""

from dyngraph.data.events import EventStream

__all__ = ["EventStream"]
