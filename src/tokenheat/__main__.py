"""Command line: ``tokenheat demo`` and ``tokenheat render``."""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tokenheat",
        description="Linked token-level heatmaps for reading language models.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo",
        help="run the four analyses on the default model and write one dashboard HTML file",
    )
    demo.add_argument("--out", default="tokenheat-demo.html", help="HTML file to write")
    demo.add_argument(
        "--model",
        default=None,
        help="a local Hugging Face model folder or .gguf file (default: SmolLM2-135M-Instruct)",
    )
    demo.add_argument(
        "--quick", action="store_true", help="a smaller corpus: about a minute on 2 CPU cores"
    )
    demo.add_argument(
        "--save", default=None, help="also save the results (.th) for `tokenheat render`"
    )
    demo.add_argument("--no-progress", action="store_true", help="hide progress bars")
    demo.add_argument(
        "--tuned-lens",
        action="store_true",
        help="also show a tuned lens beside the logit lens (trained once, then cached)",
    )

    render = sub.add_parser(
        "render", help="turn saved results (.th) into one interactive HTML file"
    )
    render.add_argument("path", help="a file written by tokenheat.save")
    render.add_argument(
        "--out", default=None, help="HTML file to write (default: next to the input)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tokenheat`` command."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (ValueError, TypeError, OSError, ImportError, UnicodeError) as err:
        # one line, never a traceback: bad files, paths and arguments are the user's to fix
        print(f"tokenheat {args.command}: {err}", file=sys.stderr)
        return 2
    except (MemoryError, RecursionError):
        print(
            f"tokenheat {args.command}: out of memory; the input is too large to handle here",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(f"tokenheat {args.command}: interrupted; nothing was written", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from tokenheat.demo._run import run_demo

        run_demo(
            out=args.out,
            model=args.model,
            quick=args.quick,
            save=args.save,
            progress=not args.no_progress,
            tuned_lens=args.tuned_lens,
        )
        return 0
    out = render(args.path, args.out)
    print(f"wrote {out}")
    return 0


def render(
    path_in: str | os.PathLike[str], path_out: str | os.PathLike[str] | None = None
) -> pathlib.Path:
    """Load a results file and write it as one offline, interactive HTML page.

    Used by ``tokenheat render results.th --out page.html``.

    Parameters
    ----------
    path_in : str or path-like
        A file written by :func:`tokenheat.save`.
    path_out : str or path-like, optional
        The page to write; by default ``path_in`` with the suffix ``.html``.

    Returns
    -------
    pathlib.Path
        The page written.

    Raises
    ------
    ValueError
        As :func:`tokenheat.load`, before anything is written.

    Examples
    --------
    >>> render("results.th", "page.html")  # doctest: +SKIP
    """
    from tokenheat.export import to_html
    from tokenheat.store import load

    obj = load(path_in)
    out = pathlib.Path(os.fspath(path_out if path_out is not None else path_in))
    if path_out is None:
        out = out.with_suffix(".html")
    to_html(obj, out)
    return out


if __name__ == "__main__":
    sys.exit(main())
