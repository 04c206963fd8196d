"""Where reports go: ``--output`` files and standard output, and what may never happen to them.

A report is written to a temporary file beside its target, flushed, synced
and renamed over it, so a failure or a signal half-way leaves the previous
report and no temporary file. Around that, the target is checked first:

- an output that is one of the inputs (the same file, through a symbolic or
  a hard link) is refused: the report would replace the log it was made from;
- a symbolic link is written through to its target (the link stays a link);
- a read-only target is refused, not silently replaced (a rename would do it);
- a new file gets the permissions the umask gives any new file, an existing
  one keeps its own (``mkstemp`` alone would leave 0600);
- a target that is not a regular file (``/dev/stdout``, a FIFO) is written
  to directly: renaming over a device would replace the device.

Every failure to write, standard output included (``/dev/full``, a closed
pipe), is an ``OutputError``: the command line prints it in one line and
exits 2, never with a traceback.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import click

from covenant.diagnostics import printable


class OutputError(Exception):
    """The report cannot be written where it was asked to go: exit 2, one line."""


def _shown(path: Path | str) -> str:
    return printable(str(path))


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)  # follows symbolic links: a link to an input is that input
    except (OSError, ValueError):
        return None
    return (info.st_dev, info.st_ino)


def _files_of(path: Path) -> Iterator[Path]:
    if path.is_dir():
        try:
            yield from (entry for entry in path.iterdir() if entry.is_file())
        except OSError:
            return
    else:
        yield path


def refuse_input_as_output(output: Path | None, inputs: Iterable[Path | None]) -> None:
    """``OutputError`` when ``output`` is one of ``inputs`` (a folder stands for the files in it).

    Compared by device and inode, so a symbolic link, a hard link or another
    spelling of the path is caught as well as the same name.
    """
    if output is None:
        return
    target = _identity(output)
    if target is None:
        return  # nothing there yet: it cannot be an input
    for given in inputs:
        if given is None:
            continue
        for path in _files_of(given):
            if _identity(path) == target:
                raise OutputError(
                    f"--output {_shown(output)} is the input {_shown(path)}: a report never replaces what it was made "
                    "from; write it elsewhere"
                )


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_output(path: Path) -> Iterator[IO[str]]:
    """A text stream whose content replaces ``path`` only when the body ends without an exception."""
    target = Path(os.path.realpath(path))
    try:
        info: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise OutputError(f"--output {_shown(path)}: {error.strerror}") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        yield from _direct(path, target)  # a device or a pipe: nothing to rename over
        return
    if info is not None and not info.st_mode & 0o222:
        raise OutputError(f"--output {_shown(path)} is read-only: make it writable, or write elsewhere")
    mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666 & ~_umask()
    directory = target.parent
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as error:
        if not directory.is_dir():
            raise OutputError(f"--output {_shown(path)}: no such folder {_shown(directory)}") from None
        raise OutputError(f"--output {_shown(path)}: cannot write in {_shown(directory)}: {error.strerror}") from None
    in_body = False  # an OSError of the body (reading a log) is not a failure to write
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            in_body = True
            yield stream
            in_body = False
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        if in_body:
            raise
        raise OutputError(f"--output {_shown(path)}: cannot write: {error.strerror or error}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _direct(path: Path, target: Path) -> Iterator[IO[str]]:
    in_body = False
    try:
        with open(target, "w", encoding="utf-8", newline="\n") as stream:
            in_body = True
            yield stream
            in_body = False
            stream.flush()
    except OSError as error:
        if in_body:
            raise
        raise OutputError(f"--output {_shown(path)}: cannot write: {error.strerror or error}") from None


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through ``atomic_output``: never half a report, never over an input."""
    with atomic_output(path) as stream:
        stream.write(text)


def emit(text: str, *, color: bool | None = None) -> None:
    """The report on standard output, flushed now so that a full disk or a closed pipe is an ``OutputError``.

    After a failure standard output is pointed at the null device: the
    interpreter flushes it again on exit, which would print a traceback.
    """
    try:
        click.echo(text, nl=False, color=color)
        sys.stdout.flush()
    except OSError as error:
        silence_stdout()
        raise OutputError(f"cannot write to standard output: {error.strerror or error}") from None


def silence_stdout() -> None:
    """Send what is left in standard output's buffer to the null device."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass
