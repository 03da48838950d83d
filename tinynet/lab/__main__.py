"""python -m tinynet.lab [--port N] [--host H] [--no-browser]: serve the lab page and open it.

Prints its address in one line; Ctrl-C ends it in one line, exit 130.
"""
from __future__ import annotations

import argparse
import sys
import threading
import webbrowser

from ..cli import Parser, run

INSTALL = 'python -m pip install -e ".[lab]"'


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port number from 1 to 65535, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="python -m tinynet.lab", description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=port_number, default=8765, help="the port to serve on (default 8765)")
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this machine "
                                                       "alone)")
    p.add_argument("--no-browser", action="store_true", help="do not open the page in a browser")
    args = p.parse_args(argv)
    try:
        import uvicorn

        from .server import LOOPBACK, create_app
    except ImportError as missing:
        print(f"tinynet lab: the lab needs its optional packages ({missing.name} is missing); install them with: "
              f"{INSTALL}", file=sys.stderr)
        return 2
    address = f"http://{args.host}:{args.port}/"
    config = uvicorn.Config(create_app(args.host, args.port), host=args.host, port=args.port, log_level="warning",
                            lifespan="off", ws="websockets-sansio")
    server = uvicorn.Server(config)
    if args.host not in LOOPBACK:
        print(f"tinynet lab: listening on {args.host}: anyone who can reach that address can use the lab",
              file=sys.stderr)
    print(f"tinynet lab: {address} (Ctrl-C to stop)", flush=True)
    if not args.no_browser:
        threading.Timer(0.5, webbrowser.open, [address]).start()
    server.run()  # Ctrl-C and SIGTERM: uvicorn stops serving, then raises them again (cli.run: one line, 130)
    if not server.started:
        print(f"tinynet lab: could not serve on {args.host}:{args.port} (is the port in use? try --port)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    run(main)
