"""The lab bench: watch backprop happen, live, in the browser.

    python -m pip install -e ".[lab]" && python -m tinynet.lab

The page (tinynet/lab/static/) is served by server.py; each open tab is a Session (live.py)
that trains one LabRun (run.py) in a thread of its own and pushes what the page shows
(view.py, worked.py) about twenty times a second. setup.py checks every field the page sends.
Nothing here is imported by the engine's core; only server.py and __main__.py need the
optional packages (``tinynet[lab]``).
"""
from .run import LabRun
from .setup import FieldError, Setup, as_python

__all__ = ["FieldError", "LabRun", "Setup", "as_python"]
