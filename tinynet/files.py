"""The one writer of every file the project writes: results, figures, logs, exercise files.

A file is written whole or not at all. The bytes go to a temporary file beside the target,
named for this write alone (two writers never share one), and are renamed over the target
only once complete: a rename within one folder is atomic, so a reader (or a run killed
mid-write) sees the old file or the new one, never half of one. A failure on the way (a
full disk, Ctrl-C) removes the temporary file. Only SIGKILL can leave one behind, and every
temporary ends in TMP_SUFFIX so that the next run on the folder can remove it
(``remove_stale``).

Files are made readable by everyone (0644, less what the umask takes away), as any file a
user writes: on a shared course server, results and figures are for others to open too.
"""
from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile
from typing import IO, Any, Callable

TMP_SUFFIX = ".tinynet-tmp"  # every temporary file the project writes ends so
MODE = 0o644  # rw-r--r--, before the umask


def write_atomically(path: pathlib.Path, write: Callable[[IO[Any]], None], *, binary: bool = False) -> None:
    """``write(file)`` into a temporary file in ``path``'s folder, then renamed over ``path``.

    binary: open the file for bytes (a PNG) rather than text.
    """
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
        os.chmod(tmp, MODE & ~umask())  # mkstemp makes it private (0600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text(path: pathlib.Path, text: str) -> None:
    write_atomically(path, lambda f: f.write(text))


def write_bytes(path: pathlib.Path, data: bytes) -> None:
    write_atomically(path, lambda f: f.write(data), binary=True)


def copy_file(source: pathlib.Path, target: pathlib.Path) -> None:
    """``source``'s bytes as the file ``target``, written whole (its mode is the writer's, 0644)."""
    with open(source, "rb") as f:
        write_bytes(target, f.read())


def copy_tree(source: pathlib.Path, target: pathlib.Path, skip: tuple[str, ...] = ("__pycache__",)) -> None:
    """Every file below ``source`` copied to the same place below ``target`` (folders made as
    needed), leaving out any file or folder named in ``skip`` and compiled Python (*.pyc)."""
    source, target = pathlib.Path(source), pathlib.Path(target)
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part in skip for part in relative.parts) or not path.is_file() or path.suffix == ".pyc":
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        copy_file(path, target / relative)


def check_writable(folder: pathlib.Path) -> None:
    """Make ``folder`` if needed and write a file in it (removed at once); raises OSError where
    it cannot be written: unwritable, under a file, a name over the system's limit."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder):
        pass


class InUse(Exception):
    """Another process holds the folder; ``owner`` says which, as its lock file says."""

    def __init__(self, owner: str) -> None:
        super().__init__(owner)
        self.owner = owner


def lock(folder: pathlib.Path) -> IO[Any]:
    """Hold ``folder`` for this process alone: an exclusive lock on folder/.lock, which says
    whose it is ("pid 1234"). Returns the open lock file, to keep for as long as the folder is
    held (the lock goes with the process: a killed one leaves none); raises InUse where another
    process holds it. Off POSIX there is no lock, and the file is returned all the same."""
    handle = open(pathlib.Path(folder) / ".lock", "a+")
    try:
        import fcntl
    except ImportError:
        return handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise InUse(owner) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


def remove_stale(folder: pathlib.Path) -> None:
    """Remove the temporary files that a killed writer left in ``folder``. Call it only while
    no other writer can be at work there (a program that holds a lock on its folder)."""
    for stale in pathlib.Path(folder).glob(f".*{TMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            stale.unlink()


def umask() -> int:
    """The process's umask. Reading it means setting it, so it is set straight back."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
