"""The one registry of the ``dyngraph`` command and its quick start.

Every package listed in :data:`COMMANDS` has a ``cli`` module with
``add_parsers(commands, fit)``, which adds its sub-commands to ``dyngraph``
(``commands``) or to ``dyngraph fit`` (``fit``). A model family's ``cli`` may
also have ``quickstart_stream(seed)`` (the generated data it is shown on) and
``quickstart(stream, output, seed)`` (its part of ``dyngraph quickstart``).
Removing a family removes its one line here.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module
from types import ModuleType

__all__ = ["COMMANDS", "command_modules"]

COMMANDS = (
    "dyngraph.data",
    "dyngraph.models.pivem",
    "dyngraph.models.semba",
    "dyngraph.models.mixer",
    "dyngraph.models.graphode",
    "dyngraph.models.operators",
    "dyngraph.sparsify",
    "dyngraph.discovery",
)
"""The packages whose ``cli`` module adds commands, in the order of ``--help``."""


def command_modules() -> Iterator[ModuleType]:
    """Import and yield the ``cli`` module of every package in :data:`COMMANDS`."""
    for package in COMMANDS:
        yield import_module(f"{package}.cli")
