"""The lab's web server: Starlette (an ASGI framework) served by uvicorn, the page pushed its
updates over a websocket, its charts drawn by plotly.js (from the plotly package: nothing is
fetched from the internet).

    GET /             the page (static/index.html)
    GET /static/...   its script and style
    GET /plotly.js    the charting library, from the installed plotly package
    WS  /ws           one tab's session: commands in, updates out (JSON)

Security: a request whose Host is not the address the lab serves on is refused (403: a page
elsewhere cannot reach it through a DNS name pointed at this machine), and a websocket whose
Origin is not the lab's own page is closed before it is accepted (a web page elsewhere must
not drive it). The page runs no code sent by the browser: a message only sets the fields of
setup.py or presses a button.
"""
from __future__ import annotations

import asyncio
import ipaddress
import json
import pathlib
import socket
from typing import Any

from starlette.applications import Starlette
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from .live import Session

STATIC = pathlib.Path(__file__).parent / "static"
MAX_SESSIONS = 4  # open tabs, each training in a thread of its own
LOOPBACK = ("127.0.0.1", "localhost", "::1")  # this machine alone


def plotly_js() -> pathlib.Path:
    import plotly

    return pathlib.Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


class OwnAddressOnly:
    """Refuses any request whose Host header is not the lab's own address, and any whose
    Origin (a websocket always has one; a cross-site request too) is not the page that Host
    serves. ``hosts``: the host:port values it answers to; ``any_ip``: listening on every
    interface (--host 0.0.0.0), it also answers to any IP address and this machine's names,
    but still to no other DNS name (what a rebinding attack would use)."""

    def __init__(self, app: ASGIApp, hosts: set[str], port: int, any_ip: bool = False) -> None:
        self.app, self.hosts, self.port, self.any_ip = app, hosts, port, any_ip
        self.names = {"localhost", socket.gethostname(), socket.getfqdn()}

    def own(self, host: str | None) -> bool:
        if host is None:
            return False
        if host in self.hosts:
            return True
        name, _, port = host.rpartition(":")
        if not self.any_ip or port != str(self.port):
            return False
        try:
            ipaddress.ip_address(name.strip("[]"))
            return True
        except ValueError:
            return name in self.names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            host, origin = headers.get("host"), headers.get("origin")
            same_page = origin == f"http://{host}"
            origin_ok = same_page if scope["type"] == "websocket" else (origin is None or same_page)
            if not (self.own(host) and origin_ok):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                response = PlainTextResponse("refused: the tinynet lab answers only its own page's address", 403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(host: str = "127.0.0.1", port: int = 8765) -> ASGIApp:
    """The lab's application for the address host:port."""
    names = {host, *(LOOPBACK if host in LOOPBACK else ())}
    hosts = {f"{name}:{port}" if ":" not in name else f"[{name}]:{port}" for name in names}
    sessions: set[Session] = set()

    async def page(request: Any) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def plotly(request: Any) -> Response:
        return FileResponse(plotly_js(), media_type="text/javascript")

    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        if len(sessions) >= MAX_SESSIONS:
            await websocket.send_text(json.dumps({"kind": "error", "message": f"the lab runs at most {MAX_SESSIONS} "
                                                  f"tabs at once, each training on a core; close one and reload"}))
            await websocket.close()
            return
        loop = asyncio.get_running_loop()
        outbox: asyncio.Queue = asyncio.Queue()
        session = Session(lambda message: loop.call_soon_threadsafe(outbox.put_nowait, message))
        sessions.add(session)
        drawn = asyncio.Event()
        drawn.set()
        sender = asyncio.create_task(send_latest(websocket, outbox, drawn))
        try:
            while True:
                text = await websocket.receive_text()
                try:
                    message = json.loads(text)
                except ValueError:
                    message = "not JSON"
                if message == {"do": "drawn"}:  # the page has drawn the last update: the next may go
                    drawn.set()
                else:
                    session.post(message)
        except WebSocketDisconnect:
            pass
        finally:
            sender.cancel()
            sessions.discard(session)
            await asyncio.to_thread(session.close)  # the tab is gone: its training stops

    routes = [Route("/", page), Route("/plotly.js", plotly), Mount("/static", StaticFiles(directory=STATIC)),
              WebSocketRoute("/ws", socket)]
    app = Starlette(routes=routes)
    app.state.sessions = sessions  # the open tabs' sessions (the tests look)
    return OwnAddressOnly(app, hosts, port, any_ip=host in ("0.0.0.0", "::"))


async def send_latest(websocket: WebSocket, outbox: asyncio.Queue, drawn: asyncio.Event) -> None:
    """Sends the session's messages in order, with one update at a time in flight: the next
    update waits until the page says it has drawn the last one (``drawn``), and of the updates
    that came meanwhile only the latest is sent. A slow browser gets fewer updates, never a
    backlog (that would show a status seconds old, and a Pause that seems not to hold)."""
    try:
        while True:
            message = await outbox.get()
            if message.get("kind") == "update":
                await drawn.wait()
                waiting = [message]
                while not outbox.empty():
                    waiting.append(outbox.get_nowait())
                for other in waiting:  # everything else, in order; then the newest update
                    if other.get("kind") != "update":
                        await websocket.send_text(as_json(other))
                message = [m for m in waiting if m.get("kind") == "update"][-1]
                drawn.clear()
            await websocket.send_text(as_json(message))
    except (WebSocketDisconnect, RuntimeError, OSError):  # the tab closed while a message was on its way
        return


def as_json(message: dict[str, Any]) -> str:
    """Strict JSON (no NaN: the browser's JSON.parse refuses it); a message that cannot be
    written is replaced by an error the page shows, so the tab never waits for nothing."""
    try:
        return json.dumps(message, allow_nan=False)
    except (TypeError, ValueError) as error:
        return json.dumps({"kind": "error", "message": f"the lab could not send its {message.get('kind')} message "
                                                       f"({error}); please report this"})
