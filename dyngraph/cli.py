"""The ``dyngraph`` command line.

The commands come from the packages of :mod:`dyngraph.registry`, one line per
family; ``quickstart`` and the ``fit`` group are defined here.

Every failure ends in one line on stderr, never in a traceback:

* a dyngraph error (a bad file, recipe, checkpoint or download, a non-finite
  loss): ``dyngraph: error: ...``, exit status 1;
* Ctrl-C: ``dyngraph: interrupted ...``, exit status 130; a ``fit`` says how
  to continue (the same command with ``--resume``: its checkpoints are
  written atomically, so an interrupt loses at most the epoch in progress);
* a closed pipe (``dyngraph datasets list | head -1``): no message, exit
  status 141 (128 + SIGPIPE, as the shell reports for ``yes | head``);
* anything else is a bug: ``dyngraph: internal error: ...``, exit status 1.

``dyngraph --debug ...`` (the flag counts anywhere on the line) or
the environment variable ``DYNGRAPH_DEBUG=1`` shows the Python traceback
instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from dyngraph.registry import command_modules

__all__ = ["build_parser", "main"]

DEBUG_ENV = "DYNGRAPH_DEBUG"
"""Environment variable that, set to ``1``, makes errors show their traceback."""

EXIT_ERROR = 1
EXIT_BROKEN_PIPE = 141
EXIT_INTERRUPTED = 130


def _cmd_quickstart(args: argparse.Namespace) -> int:
    from dyngraph.quickstart import run_quickstart

    report = run_quickstart(
        Path(args.output), seed=args.seed, root=args.root, models=not args.no_models
    )
    print(f"\nwrote {len(report['files'])} files to {args.output}/")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``dyngraph`` command."""
    parser = argparse.ArgumentParser(
        prog="dyngraph",
        description="Learning on temporal graphs and dynamical systems.",
        epilog=f"Errors are one line; --debug or {DEBUG_ENV}=1 shows the traceback.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    qs = commands.add_parser(
        "quickstart", help="a tour on generated data (and real data if cached)"
    )
    qs.add_argument(
        "--output",
        default="quickstart-output",
        help="folder for plots and the summary (default: quickstart-output)",
    )
    qs.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    qs.add_argument("--root", help="data root to look for cached real datasets")
    qs.add_argument(
        "--no-models",
        action="store_true",
        help="only the data tour: skip fitting the small models",
    )
    qs.set_defaults(func=_cmd_quickstart)
    fit = commands.add_parser(
        "fit", help="fit a model family (defaults in code, --recipe FILE overrides)"
    )
    families = fit.add_subparsers(dest="family", required=True, metavar="FAMILY")
    for module in command_modules():
        module.add_parsers(commands, families)
    # main() takes --debug out of the arguments wherever it stands; it is
    # declared here for --help
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the Python traceback of an error, with any command "
        f"(or set {DEBUG_ENV}=1)",
    )
    return parser


def _debug_from_env() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in (
        "",
        "0",
        "false",
        "no",
        "off",
    )


def _one_line(exc: BaseException) -> str:
    """Return the message of ``exc`` on one line (a ``KeyError`` unquoted)."""
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    text = " ".join(part.strip() for part in str(message).splitlines() if part.strip())
    return text or type(exc).__name__


def _interrupted(args: argparse.Namespace | None) -> str:
    """Return the message of Ctrl-C: for a ``fit``, how to continue it."""
    if args is not None and getattr(args, "command", None) == "fit":
        output = getattr(args, "output", None)
        return (
            "dyngraph: interrupted; the checkpoints in "
            f"{output}/ are intact (written atomically): rerun the same command "
            "with --resume to continue from the last finished epoch"
        )
    return "dyngraph: interrupted; rerun the command to start it again"


def _silence_stdout() -> None:
    """Point stdout at the null device, so that the flush at exit cannot fail."""
    try:
        if sys.stdout is sys.__stdout__ and sys.stdout is not None:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
    except (OSError, ValueError):  # pragma: no cover - stdout without a file
        pass


def _rank() -> int:
    """Return this process's rank under torchrun (``0`` otherwise)."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def _who() -> str:
    """`` [rank r/N]`` under torchrun with several processes, else nothing."""
    world = os.environ.get("WORLD_SIZE", "1")
    return f" [rank {_rank()}/{world}]" if world not in ("", "1") else ""


def _call(args: argparse.Namespace) -> int:
    """Run the parsed command; a ``fit`` under torchrun joins its process group.

    Launched by ``torchrun --nproc_per_node=N -m dyngraph fit FAMILY ...``,
    every process runs the same fit; :mod:`dyngraph.training.distributed`
    wraps the model in DDP, shards the batches and lets rank 0 write.
    """
    if getattr(args, "command", None) != "fit":
        return args.func(args)
    from dyngraph.training import distributed

    distributed.setup()
    try:
        return args.func(args)
    finally:
        distributed.teardown()


def _run(argv: list[str], state: dict[str, object]) -> int:
    """Parse ``argv`` and run its command; errors other than Ctrl-C end here."""
    from dyngraph.data.datasets import DatasetError
    from dyngraph.training import NonFiniteLossError

    try:
        args = build_parser().parse_args(argv)
        state["args"] = args
        status = int(_call(args))
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except NonFiniteLossError as exc:
        if state["debug"]:
            raise
        if _rank() > 0:  # every rank stopped at the same step: say it once
            return EXIT_ERROR
        print(
            f"dyngraph: error: {_one_line(exc)} To retry with a smaller learning "
            "rate, set [fit] lr in the recipe and rerun with --resume: the "
            "recipe's optimizer settings replace the checkpoint's.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    except (DatasetError, OSError, ValueError, KeyError) as exc:
        if state["debug"]:
            raise
        print(f"dyngraph{_who()}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:
        if state["debug"]:
            raise
        print(
            f"dyngraph{_who()}: internal error: {type(exc).__name__}: "
            f"{_one_line(exc)} "
            f"(rerun with --debug or {DEBUG_ENV}=1 for the traceback, and report it)",
            file=sys.stderr,
        )
        return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dyngraph`` command; return its exit status.

    Errors become one line on stderr (see the module); with ``--debug`` or
    ``DYNGRAPH_DEBUG=1`` they are raised, traceback and all.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        ``0`` on success, ``1`` on an error, ``130`` after Ctrl-C, ``141``
        when stdout was closed early; argparse exits with ``2`` on bad usage.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    # --debug counts wherever it stands, before or after a sub-command
    state: dict[str, object] = {
        "debug": _debug_from_env() or "--debug" in argv,
        "args": None,
    }
    argv = [arg for arg in argv if arg != "--debug"]
    try:
        return _run(argv, state)
    except KeyboardInterrupt:  # also while importing torch, before parsing
        if state["debug"]:
            raise
        args = state["args"]
        print(
            _interrupted(args if isinstance(args, argparse.Namespace) else None),
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
