"""python -m tinynet.lab [--port N] [--host H] [--no-browser]: serve the lab page and open it.

Prints its address in one line; Ctrl-C ends it in one line, exit 130.
"""
from __future__ import annotations

import argparse
import os
import socket
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
    try:  # bound here, before the address is printed: a port in use is one line, not uvicorn's log and exit 3
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        listening = socket.create_server((args.host, args.port), family=family)
    except OSError as e:
        why = os.strerror(e.errno) if e.errno else str(e)
        print(f"tinynet lab: cannot listen on {args.host}:{args.port} ({why}); another program may be using it: try "
              f"--port {args.port + 1 if args.port < 65535 else 8765}", file=sys.stderr)
        return 1
    config = uvicorn.Config(create_app(args.host, args.port), log_level="warning", lifespan="off",
                            ws="websockets-sansio")
    if args.host not in LOOPBACK:
        print(f"tinynet lab: listening on {args.host}: anyone who can reach that address can use the lab",
              file=sys.stderr)
    print(f"tinynet lab: {address} (Ctrl-C to stop)", flush=True)
    if not args.no_browser:
        threading.Timer(0.5, webbrowser.open, [address]).start()
    # Ctrl-C and SIGTERM: uvicorn stops serving, then raises them again (cli.run: one line, 130)
    uvicorn.Server(config).run(sockets=[listening])
    return 0


if __name__ == "__main__":
    run(main)
