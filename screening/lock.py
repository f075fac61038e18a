"""The refresh lock: two refreshes (or imports) never run at once on one data directory.

An advisory lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows) on ``HOME/refresh.lock``.
The operating system releases it when the holder exits, however it exits (even SIGKILL), so
there is no stale lock file to clean up. The holder writes its process id into the file, for the
message the waiting process prints.

Readers (screening commands) never take this lock: the store's transactions keep them
consistent while a refresh writes.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from screening.errors import LockedError, StoreError

#: Seconds a refresh waits for another one to finish before giving up.
DEFAULT_LOCK_TIMEOUT = 300.0

__all__ = ["DEFAULT_LOCK_TIMEOUT", "LOCK_FILE", "refresh_lock", "try_lock", "unlock"]

LOCK_FILE = "refresh.lock"
_POLL = 0.1


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def refresh_lock(home: Path, *, timeout: float = 300.0) -> Iterator[None]:
    """Hold the refresh lock of ``home``; wait up to ``timeout`` seconds for it.

    Raises :class:`~screening.errors.LockedError` when another process (or thread) still holds
    it after ``timeout``, and :class:`~screening.errors.StoreError` when the lock file cannot
    be created.
    """
    path = home / LOCK_FILE
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreError(f"cannot create the lock file {path}: {exc.strerror or exc}") from exc
    try:
        deadline = time.monotonic() + max(0.0, timeout)
        while not try_lock(fd):
            if time.monotonic() >= deadline:
                holder = _holder(fd)
                who = f" (process {holder})" if holder else ""
                raise LockedError(
                    f"another refresh or import{who} is running on {home} "
                    f"(lock {path}); waited {timeout:g} s — try again later"
                )
            time.sleep(_POLL)
        try:
            _write_pid(fd)
            yield
        finally:
            unlock(fd)
    finally:
        os.close(fd)


def _write_pid(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError:
        pass  # the pid is only for the message; the lock itself is held


def _holder(fd: int) -> str | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        return None
    return text if text.isdigit() else None
