"""One open tab: its run, trained in a thread of its own, and what it sends the page.

The page posts commands (``post``); the session's thread does everything that touches the
model, one thing at a time, so that nothing reads the model while a step changes it:
set-up, train, pause, step, reset, the worked step. While training it steps in chunks of a
few milliseconds, looks at its inbox between chunks, and sends an update when one is due:
at most UPDATES_PER_SECOND a second, and never more often than keeps the updates' own cost
under OVERHEAD of the time (each update's cost is measured, and the next one waits 1/OVERHEAD
times as long), so that training runs at nearly tn.train's speed with the page open.

``send(message)`` is called from the session's thread; the server hands it to the page.
Closing the tab (``close``) ends the thread within one chunk.
"""
from __future__ import annotations

import queue
import threading
import time
import traceback
from typing import Any, Callable

from ..model import linear_layers
from .run import LabRun
from .setup import SHAPES, FieldError, Setup, as_python
from .view import Viewer, boundary, network, points
from .worked import worked_step

UPDATES_PER_SECOND = 20
OVERHEAD = 0.03  # the most of the time updates may take
CHUNK_SECONDS = 0.005  # steps are taken this long between looks at the inbox
DOCTOR_EVERY = 1.0  # seconds between the doctor's live reports (it reads the whole history)


class Session:
    """A tab's run and its thread. ``send`` receives dicts for the page, each with a ``kind``:
    setup, update, worked, error."""

    def __init__(self, send: Callable[[dict[str, Any]], None]) -> None:
        self.send = send
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.closed = threading.Event()
        self.run: LabRun | None = None
        self.viewer: Viewer | None = None
        self.running = False
        self.example = 0  # the example the network diagram shows
        self.chunk = 1  # steps per chunk, grown until a chunk takes CHUNK_SECONDS
        self.next_update = 0.0
        self.next_doctor = 0.0
        self.thread = threading.Thread(target=self._loop, name="tinynet-lab-session", daemon=True)
        self.thread.start()

    def post(self, message: Any) -> None:
        """A command from the page (any JSON value; a wrong one is answered with an error)."""
        self.inbox.put(message)

    def close(self, wait: float = 5.0) -> None:
        self.closed.set()
        self.inbox.put(None)
        self.thread.join(wait)

    # --- The thread ------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self.closed.is_set():
            try:
                if self.running:
                    self._train_a_while()
                    while not self.inbox.empty():
                        self._handle(self.inbox.get_nowait())
                else:
                    self._handle(self.inbox.get())
            except Exception as error:  # a training error is shown on the page; the server lives on
                self.running = False
                self.send({"kind": "error", "message": one_line(error)})

    def _handle(self, message: Any) -> None:
        if message is None or self.closed.is_set():
            return
        if not isinstance(message, dict) or not isinstance(message.get("do"), str):
            raise ValueError("the page sent a message the lab does not know; reload the page")
        do = message["do"]
        if do == "setup":
            self._setup(message.get("fields", {}), message.get("id"))
        elif self.run is None:
            raise ValueError("set the run up first")
        elif do == "train":
            self.running = not self.run.finished
        elif do == "pause":
            self.running = False
            self._update(force=True)
        elif do == "step":
            self.running = False
            self.run.advance(1)
            self._update(force=True)
        elif do == "reset":
            self._setup(self.run.setup.query())
        elif do == "example":
            self.example = whole_in(message.get("example"), "example", len(self.run.data.y_train))
            self._update(force=True)
        elif do == "worked":
            example = whole_in(message.get("example", self.example), "example", len(self.run.data.y_train))
            layer = whole_in(message.get("layer", 0), "layer", len(linear_layers(self.run.model)))
            unit = [message.get("i"), message.get("j")]  # W[i, j]; left out: the largest gradient
            if unit != [None, None] and not all(isinstance(u, int) and not isinstance(u, bool) for u in unit):
                raise FieldError("unit", f"unit: W[i, j] as two whole numbers, or both left blank for the weight with "
                                         f"the largest gradient; got {unit}")
            self.send({"kind": "worked", **worked_step(self.run, example, layer, *unit)})
        else:
            raise ValueError(f"unknown command {do!r}")

    def _setup(self, fields: Any, asked: Any = None) -> None:
        """A new run from the page's fields; a bad field leaves the run in progress as it was.
        ``asked``: the page's number for this request, sent back, so that the page takes the
        fields of its latest request only (not those of one it has since changed)."""
        if not isinstance(fields, dict):
            raise ValueError("the page sent its fields in a form the lab does not know; reload the page")
        setup = Setup.from_query(fields)
        run = LabRun(setup)  # refuses what tn.train would refuse, before the old run is let go
        self.run, self.viewer, self.running, self.chunk = run, Viewer(run), False, 1
        self.example = 0
        self.send({"kind": "setup", "id": asked if isinstance(asked, int) else None, "fields": setup.query(),
                   "overrides": setup.overrides,
                   "python": as_python(setup), "points": points(run), "broken": getattr(setup.breakage, "broken", ""),
                   "shapes": SHAPES})
        self.next_doctor = 0.0
        self._update(force=True)

    def _train_a_while(self) -> None:
        """Steps for about CHUNK_SECONDS, then an update if one is due."""
        run = self.run
        start = time.perf_counter()
        run.advance(self.chunk)
        if time.perf_counter() - start < CHUNK_SECONDS and self.chunk < 1 << 20:
            self.chunk *= 2
        if run.finished:
            self.running = False
            self._update(force=True)
        elif time.perf_counter() >= self.next_update:
            self._update()

    def _update(self, force: bool = False) -> None:
        """Everything the page shows, now; then the next one waits long enough to keep the cost small."""
        start = time.perf_counter()
        run, viewer = self.run, self.viewer
        message = {"kind": "update", "running": self.running, "status": viewer.status(), "curves": viewer.curves(),
                   "network": network(run, self.example), "boundary": boundary(run)}
        if force or start >= self.next_doctor or run.finished:
            found = run.diagnosis()
            message["doctor"] = None if found is None else {**found.as_dict(), "text": str(found)}
            self.next_doctor = start + DOCTOR_EVERY
        self.send(message)
        cost = time.perf_counter() - start
        self.next_update = time.perf_counter() + max(1 / UPDATES_PER_SECOND, cost / OVERHEAD)


def whole_in(value: Any, name: str, n: int) -> int:
    if not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value < n):
        raise FieldError(name, f"{name}: a whole number from 0 to {n - 1}; got {value!r}")
    return value


def one_line(error: BaseException) -> str:
    """An error as one sentence for the page: our messages as they are; anything else with
    where it happened, never a traceback."""
    if isinstance(error, (ValueError, TypeError, MemoryError)):
        return str(error).split("\n")[0]
    where = traceback.extract_tb(error.__traceback__)[-1]
    return f"training stopped: {type(error).__name__}: {error} (at {where.name}); change the set-up and train again"
