"""``python -m labserver <command>``: the course's command line.

    open                 open the course in JupyterLab at notebook 00 (what `make lab` runs)
    execute-notebooks    re-run notebooks and save their outputs (what `make notebooks` runs)
    bench                lab start/stop time and requests/s, as ratios (what `make bench` runs)
    config               every lab config key with its default and meaning
    sync-course          rewrite the course map and prev/next links in the notebooks
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labserver", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    p = commands.add_parser("open", help="open the course in JupyterLab at notebook 00")
    p.add_argument("--port", type=int, help="port for JupyterLab (default: Jupyter's choice)")
    p.add_argument("--token", help="login token (default: a random one, printed)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")

    p = commands.add_parser("execute-notebooks", help="re-run notebooks and save their outputs")
    p.add_argument("paths", nargs="*", type=Path, help="notebooks (default: all in notebooks/)")

    p = commands.add_parser("bench", help="lab start/stop time and requests/s, as ratios")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--requests", type=int, default=300, help="requests per client per round")
    p.add_argument("--starts", type=int, default=10)

    commands.add_parser("config", help="every lab config key with its default and meaning")

    p = commands.add_parser("sync-course", help="rewrite course map and prev/next links")
    p.add_argument("--check", action="store_true", help="only report, change nothing")

    args = parser.parse_args(argv)
    if args.command == "open":
        from .jupyter import open_course

        open_course(port=args.port, token=args.token, browser=not args.no_browser)
    elif args.command == "execute-notebooks":
        from .jupyter import execute_notebooks

        execute_notebooks([p.resolve() for p in args.paths] or None)
    elif args.command == "bench":
        from .experiments import bench

        bench.main(args.rounds, args.requests, args.starts)
    elif args.command == "config":
        import importlib

        from .app import BLUEPRINTS
        from .config import CORE_OPTIONS, describe

        options = list(CORE_OPTIONS)
        for name in BLUEPRINTS:
            options += getattr(importlib.import_module(name), "OPTIONS", ())
        print(describe(options))
    elif args.command == "sync-course":
        from .course import out_of_sync

        stale = out_of_sync(write=not args.check)
        for line in stale:
            print(line)
        if args.check and stale:
            return 1
        if not args.check:
            print("course map and links are up to date" if not stale else "rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
