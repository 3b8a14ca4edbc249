"""``python -m labserver <command>``: the course's command line.

open                 open the course in JupyterLab at notebook 00 (what `make lab` runs)
execute-notebooks    re-run notebooks and save their outputs (what `make notebooks` runs)
bench                what each request costs, and what the lab costs, as ratios (`make bench`)
config               every lab config key with its default and meaning
serve --port N       one lab app in the foreground, on REDIS_URL (several make chapter 10's fleet;
                     --workers N: N gunicorn worker processes on one Redis)
sync-course          rewrite the course map and prev/next links in the notebooks
decode TOKEN         a JWT's header, claims, times and warnings, offline (--key to verify)
time VALUE           epoch seconds or milliseconds, or an ISO date, in every form
cookie HEADER        what a Set-Cookie header asks of a browser, and why it might fail
grade DIR...         every exercise suite against each learner's exercises/ folder: a class table
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m labserver",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    p = commands.add_parser("open", help="open the course in JupyterLab at notebook 00")
    p.add_argument("--port", type=int, help="port for JupyterLab (default: Jupyter's choice)")
    p.add_argument("--token", help="login token (default: a random one, printed)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")

    p = commands.add_parser("execute-notebooks", help="re-run notebooks and save their outputs")
    p.add_argument("paths", nargs="*", type=Path, help="notebooks (default: all in notebooks/)")

    p = commands.add_parser(
        "bench", help="what each request costs (chapter 10) and what the lab costs, as ratios"
    )
    p.add_argument(
        "--quick", action="store_true", help="a few seconds, to see the tables (not a measurement)"
    )
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument(
        "--requests", type=int, default=300, help="requests per client per round (lab section)"
    )
    p.add_argument("--starts", type=int, default=10)

    commands.add_parser("config", help="every lab config key with its default and meaning")

    from .workers import worker_count

    p = commands.add_parser(
        "serve", help="run one lab app in the foreground (chapter 10's separate processes)"
    )
    p.add_argument("--port", type=int, required=True, help="loopback port to listen on")
    p.add_argument("--name", default="lab", help="SERVICE_NAME, shown in request logs and /edge/me")
    p.add_argument(
        "--jwks-url", help="EDGE_JWKS_URL: verify tokens at /edge/me with this issuer's keys"
    )
    p.add_argument(
        "--workers",
        type=worker_count,
        default=1,
        help="gunicorn worker processes sharing REDIS_URL and the signing keys (POSIX only; "
        "default 1: werkzeug's threaded server in this process)",
    )

    p = commands.add_parser("sync-course", help="rewrite course map and prev/next links")
    p.add_argument("--check", action="store_true", help="only report, change nothing")

    p = commands.add_parser("decode", help="a JWT's header, claims, times and warnings, offline")
    p.add_argument(
        "token", help="the token (a 'Bearer ' prefix or an Authorization header is fine)"
    )
    p.add_argument(
        "--key",
        help="verify with: an HMAC secret, or a file holding a PEM public key, a JWK or a JWKS",
    )
    p.add_argument("--audience", help="check that aud holds this")
    p.add_argument("--issuer", help="check that iss is this")
    p.add_argument("--leeway", type=float, default=0, help="seconds of clock skew to allow")

    p = commands.add_parser(
        "time", help="epoch seconds or milliseconds, or an ISO date, in every form"
    )
    p.add_argument("value")

    p = commands.add_parser("cookie", help="what a Set-Cookie header asks of a browser")
    p.add_argument(
        "header", help="'Set-Cookie: name=value; Path=/; ...' (the 'Set-Cookie:' is optional)"
    )
    p.add_argument("--url", help="the address of the response that sets it")
    p.add_argument("--api-url", help="an address the cookie should be sent to")

    p = commands.add_parser(
        "grade", help="every exercise suite against each learner's folder: a class table"
    )
    p.add_argument(
        "folders", nargs="+", type=Path, metavar="DIR", help="one learner's copy of exercises/"
    )
    p.add_argument("--csv", type=Path, help="also write one row per learner and exercise here")
    p.add_argument("--exercises", help="only these, comma-separated (e.g. ex01,ex04; default: all)")
    p.add_argument(
        "--timeout", type=float, default=30.0, help="seconds one suite may take (default 30)"
    )
    p.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="learners graded at once (default 1)"
    )
    p.add_argument(
        "--memory",
        type=int,
        default=2048,
        metavar="MB",
        help="address space a check may use (default 2048; 0: no limit)",
    )

    args = parser.parse_args(argv)
    # An argument may hold bytes that are not text (Python hands them over as lone surrogates):
    # the tools explain what they are given, and printing it back must never be what fails.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    if args.command == "open":
        from .jupyter import open_course

        open_course(port=args.port, token=args.token, browser=not args.no_browser)
    elif args.command == "execute-notebooks":
        from .jupyter import execute_notebooks

        execute_notebooks([p.resolve() for p in args.paths] or None)
    elif args.command == "bench":
        from .experiments import bench, costs
        from .store import redis_url_from_env

        url = redis_url_from_env()
        print(
            "What each request costs"
            + (f" (real Redis: {url})" if url else " (set REDIS_URL to add a real Redis)")
        )
        print(costs.report(quick=args.quick, redis_url=url))
        print()
        if args.quick:
            args.rounds, args.requests, args.starts = 2, 20, 2
        bench.main(args.rounds, args.requests, args.starts)
    elif args.command == "serve":
        return _serve(args)
    elif args.command == "config":
        from .app import all_options
        from .config import describe

        print(describe(all_options()))
    elif args.command == "decode":
        from .tools.decoder import decode

        try:
            key = _read_key(args.key)
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 2
        if _looks_like_a_path(args.key):
            print(
                f"note: there is no file {args.key!r}, so it is used as the HMAC secret itself",
                file=sys.stderr,
            )
        report = decode(
            args.token, key=key, audience=args.audience, issuer=args.issuer, leeway=args.leeway
        )
        print(report.text())
        return 1 if report.error else 0
    elif args.command == "time":
        from .tools.timestamps import convert

        report = convert(args.value)
        print(report.text())
        return 1 if report.error else 0
    elif args.command == "cookie":
        from .tools.cookies import inspect

        report = inspect(args.header, url=args.url, api_url=args.api_url)
        print(report.text())
        return 0 if report.ok else 1
    elif args.command == "grade":
        return _grade(parser, args)
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


def _serve(args) -> int:
    """``serve``: the lab app for this process's config, on 127.0.0.1, until Ctrl+C."""
    from .app import create_app
    from .server import make_server
    from .store import connect, redis_url_from_env

    url = redis_url_from_env()
    config = {
        "SERVICE_NAME": args.name,
        **({"EDGE_JWKS_URL": args.jwks_url} if args.jwks_url else {}),
    }
    if args.workers > 1:
        from .workers import serve_from_cli

        return serve_from_cli(config, port=args.port, workers=args.workers, redis_url=url)
    app = create_app(config, store=connect(url))
    server = make_server("127.0.0.1", args.port, app, quiet=False)
    print(
        f"{args.name} on http://127.0.0.1:{server.server_port} · store: "
        f"{url or 'embedded (this process only: set REDIS_URL to share one Redis)'}",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _grade(parser, args) -> int:
    """``grade``: the class table on stdout, progress on stderr; 0 whatever the learners did."""
    from .grading import grade

    if not args.timeout > 0:
        parser.error("--timeout must be a positive number of seconds")
    if args.jobs < 1:
        parser.error("--jobs must be a whole number of at least 1")
    only = [e.strip() for e in args.exercises.split(",") if e.strip()] if args.exercises else None
    try:
        print(
            grade(
                args.folders,
                only=only,
                timeout=args.timeout,
                csv_path=args.csv,
                memory_mb=args.memory,
                jobs=args.jobs,
            )
        )
    except (ValueError, OSError) as exc:
        parser.error(str(exc))  # exit code 2
    return 0


def _read_key(value: str | None):
    """--key: a file holding a PEM, a JWK or a JWKS (JSON), or else the HMAC secret itself.
    Raises ValueError with a readable message for a file that cannot be used."""
    if value is None:
        return None
    path = Path(value)
    if path.is_file():
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"--key {value}: cannot read the file ({exc})") from None
        if text.lstrip().startswith("{"):
            import json

            try:
                return json.loads(text)
            except ValueError as exc:
                raise ValueError(
                    f"--key {value}: the file starts like JSON but is not ({exc})"
                ) from None
        return text
    return value


def _looks_like_a_path(value: str | None) -> bool:
    """True for a --key value that was probably meant as a file that does not exist."""
    return (
        bool(value)
        and not Path(value).exists()
        and (
            "/" in value
            or "\\" in value
            or value.endswith((".pem", ".json", ".key", ".jwk", ".jwks"))
        )
    )


if __name__ == "__main__":
    sys.exit(main())
