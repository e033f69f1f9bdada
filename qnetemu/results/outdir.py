"""Output directories that never lose what is already there.

* :func:`check_run_target` / :func:`check_sweep_target` refuse, before any
  work, a target that is a symbolic link, a file, the working directory, or a
  non-empty directory qnetemu cannot prove it wrote (``--overwrite`` replaces
  only a run directory whose ``manifest.json`` says qnetemu wrote it; a sweep
  continues only in its own sweep directory).
* :class:`DirLock` locks a target while it is written (``flock`` on a sibling
  ``.NAME.qnetemu-lock`` file): a second writer gets a one-line refusal, and a
  killed writer's lock is released by the kernel.
* :func:`replace_dir` swaps a complete new directory in for the old one with
  one atomic ``renameat2(RENAME_EXCHANGE)`` where the system has it (Linux),
  else by renaming the old one aside first; :func:`recover` (run under the
  lock, before writing) deletes what a killed writer left and puts an old
  result back if the writer died between its two renames. So a kill at any
  moment leaves the old or the new result, and the next run leaves no stray
  temporary directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import unicodedata
from pathlib import Path

from qnetemu.errors import UserError

MANIFEST = "manifest.json"
SWEEP_MANIFEST = "sweep.json"
#: What write_run puts in every manifest: the proof that qnetemu wrote the directory.
WRITTEN_BY = "qnetemu"
_TMP, _OLD, _LOCK = ".qnetemu-tmp-", ".qnetemu-old-", ".qnetemu-lock"
_STALE = re.compile(r"^\.(?P<name>.+)(?P<kind>\.qnetemu-(?:tmp|old)-)[A-Za-z0-9_]+$")
_LOCK_FILE = re.compile(r"^\.(?P<name>.+)\.qnetemu-lock$")
#: Longest default directory name made from a scenario name, in UTF-8 bytes.
MAX_NAME_BYTES = 80


def checkpoint(step: str) -> None:
    """Called between the steps of a write; tests replace it to kill the process there."""


def safe_component(name: str, *, max_bytes: int = MAX_NAME_BYTES) -> str:
    """A scenario name as one harmless directory name (no separators, dots, controls or NUL).

    Letters of any script are kept (``Iași``); every run of other characters
    becomes ``_``; leading and trailing ``._-`` are dropped, so ``../../x`` is
    ``x``; the result is cut to ``max_bytes`` of UTF-8 and is never empty.
    """
    text = unicodedata.normalize("NFC", str(name))
    text = re.sub(r"[^\w.-]+", "_", text, flags=re.UNICODE).strip("._-")
    cut = text.encode()[:max_bytes].decode(errors="ignore").strip("._-")
    return cut or "scenario"


def _stem(name: str) -> str:
    # Temporary names add ~25 bytes to the target's; keep them under the 255-byte limit.
    return name if len(name.encode()) <= 180 else hashlib.sha256(name.encode()).hexdigest()[:32]


def _is_working_dir_or_above(path: Path) -> bool:
    try:
        cwd = Path.cwd().resolve()
    except OSError:
        return False
    return path == cwd or path in cwd.parents


def _absolute(path: str | os.PathLike[str]) -> Path:
    """The target with its parent resolved and its own name kept (it may be a symlink to refuse)."""
    p = Path(os.path.abspath(os.fspath(path)))
    return p.parent.resolve() / p.name if p.name else p


def _refuse_non_directory(path: Path) -> None:
    if path.is_symlink():
        raise UserError("is a symbolic link; give the real directory as --out", file=str(path))
    if path.exists() and not path.is_dir():
        raise UserError("is not a directory; give a directory as --out", file=str(path))


def _entries(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise UserError(f"cannot read the directory ({exc.strerror})", file=str(path)) from None


def read_json(path: Path, what: str) -> dict:
    """A JSON object from a file qnetemu wrote; anything else is a one-line UserError."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise UserError(f"{what} is missing", file=str(path)) from None
    except OSError as exc:
        raise UserError(f"cannot read {what} ({exc.strerror})", file=str(path)) from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise UserError(f"{what} is damaged (not valid JSON: {reason}); move it away or choose another "
                        "directory", file=str(path)) from None
    if not isinstance(data, dict):
        raise UserError(f"{what} is damaged (a JSON {type(data).__name__}, not an object)", file=str(path))
    return data


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` holds a run result that qnetemu wrote (its manifest says so)."""
    if not (path / MANIFEST).is_file():
        return False
    m = read_json(path / MANIFEST, MANIFEST)
    versions = m.get("versions")
    # Results written before the written_by field carry qnetemu's version and the scenario hash.
    legacy = isinstance(versions, dict) and "qnetemu" in versions and "scenario_sha256" in m
    return m.get("written_by") == WRITTEN_BY or legacy


def check_run_target(path: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """Refuse a ``qnetemu run --out`` target that writing could damage; return it absolute."""
    target = _absolute(path)
    _refuse_non_directory(target)
    if _is_working_dir_or_above(target):
        raise UserError("is the working directory or contains it; choose another --out", file=str(target))
    if not _entries(target):
        return target
    if not overwrite:
        raise UserError("results directory exists and is not empty (use --overwrite or another --out)",
                        file=str(target))
    if (target / SWEEP_MANIFEST).exists():
        raise UserError("holds a qnetemu sweep, which --overwrite does not replace; choose another --out",
                        file=str(target))
    if not is_run_dir(target):
        raise UserError("is not a qnetemu results directory (no manifest.json written by qnetemu), so "
                        "--overwrite will not replace it; choose another --out", file=str(target))
    return target


def check_sweep_target(path: str | os.PathLike[str]) -> Path:
    """Refuse a ``qnetemu sweep --out`` target that is not empty and not a sweep directory."""
    target = _absolute(path)
    _refuse_non_directory(target)
    entries = [e for e in _entries(target) if not e.endswith(".tmp")]  # a killed write's leftovers
    if entries and SWEEP_MANIFEST not in entries:
        what = "a run result" if MANIFEST in entries else "other files"
        raise UserError(f"is not a qnetemu sweep directory (it holds {what}); choose another --out",
                        file=str(target))
    if entries:
        read_json(target / SWEEP_MANIFEST, SWEEP_MANIFEST)
    return target


class DirLock:
    """An exclusive lock on writing a directory, held from ``__enter__`` to ``__exit__``.

    The lock is ``flock`` on ``.NAME.qnetemu-lock`` next to the directory (the
    directory itself may not exist yet, or be swapped). The kernel releases it
    when its holder dies; the file is removed on release, and a waiter checks
    that the file it locked is still the one on disk.
    """

    def __init__(self, target: str | os.PathLike[str]):
        self.target = _absolute(target)
        self.path = self.target.parent / f".{_stem(self.target.name)}{_LOCK}"
        self._fd: int | None = None

    def acquire(self, *, refuse: bool = True) -> bool:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                if not refuse:
                    return False
                raise UserError(f"is being written by another qnetemu process (pid {holder}); wait for it "
                                "to finish or choose another --out", file=str(self.target)) from None
            try:
                same = os.stat(self.path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the previous holder removed the file after we opened it: lock the new one
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> DirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _recover_one(target: Path, stale: list[Path]) -> None:
    """Clean what a killed writer of ``target`` left; its lock must be held."""
    olds = sorted((p for p in stale if _OLD in p.name), key=lambda p: not _entries(p))  # non-empty first
    if olds and _entries(olds[0]) and not os.path.lexists(target):
        # Killed between moving the old result aside and the new one in: the old one goes back.
        # (For a name too long to appear in temporary names this restores under its hash.)
        os.rename(olds.pop(0), target)
    for p in stale:
        if p.exists():
            _remove(p)


def recover(target: str | os.PathLike[str], lock: DirLock) -> None:
    """Remove every temporary directory and lock file killed writers left next to ``target``.

    Those of ``target`` itself are cleaned under ``lock`` (which the caller
    holds); those of other names in the same parent only when their own lock
    is free (their writer is dead, not merely busy).
    """
    target = _absolute(target)
    by_stem: dict[str, list[Path]] = {}
    for entry in _entries(target.parent):
        m = _STALE.match(entry)
        if m and (target.parent / entry).is_dir() and not (target.parent / entry).is_symlink():
            by_stem.setdefault(m["name"], []).append(target.parent / entry)
    for entry in _entries(target.parent):  # lock files of dead writers that had made no directory yet
        m = _LOCK_FILE.match(entry)
        if m and m["name"] != _stem(target.name):
            by_stem.setdefault(m["name"], [])
    for stem, stale in sorted(by_stem.items()):
        if stem == _stem(target.name):
            _recover_one(target, stale)
            continue
        other = DirLock(target.parent / stem)
        if other.acquire(refuse=False):
            try:
                _recover_one(target.parent / stem, stale)
            finally:
                other.release()


def make_temp_dir(target: Path) -> Path:
    """A fresh private directory next to ``target``, on the same file system (renames stay atomic)."""
    return Path(tempfile.mkdtemp(prefix=f".{_stem(target.name)}{_TMP}", dir=target.parent))


def fsync_tree(path: Path) -> None:
    """Flush every file and directory under ``path`` to disk (before it is renamed into place)."""
    for root, _dirs, files in os.walk(path):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(root))


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _renameat2_exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # the kernel or the file system cannot exchange
    raise OSError(err, os.strerror(err), str(a), None, str(b))


#: Replaced by tests to take the fallback path.
exchange = _renameat2_exchange


def replace_dir(new: Path, target: Path) -> None:
    """Put the complete directory ``new`` at ``target``; the old one stays whole until then.

    ``new`` and ``target`` share a parent. The caller holds ``target``'s lock.
    """
    if not os.path.lexists(target):
        os.rename(new, target)
    elif not _entries(target):
        os.replace(new, target)  # an empty directory is replaced in one rename
    elif exchange(new, target):
        checkpoint("exchanged")
        _remove(new)  # now holds the old result
    else:
        aside = Path(tempfile.mkdtemp(prefix=f".{_stem(target.name)}{_OLD}", dir=target.parent))
        os.replace(target, aside)  # rename over the empty placeholder
        checkpoint("aside")
        os.rename(new, target)
        checkpoint("renamed")
        _remove(aside)
    fsync_dir(target.parent)
