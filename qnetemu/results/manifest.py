"""Provenance of a result: which scenario, command, seed and software made it."""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

#: Packages whose versions change numbers; recorded in every manifest.
TRACKED_PACKAGES = (
    "qnetemu", "numpy", "scipy", "networkx", "pydantic", "sequence", "ray",
    "skyfield", "skyfield-data", "topohub", "pyarrow", "pandas", "matplotlib",
)


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(start: Path | None = None) -> str | None:
    """The commit of the qnetemu checkout, with ``+dirty`` if it has local changes."""
    here = start or Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here, capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return sha + ("+dirty" if dirty else "")


def command_line() -> list[str]:
    """The command as a user would retype it: ``qnetemu ...``, not this machine's path to ``__main__.py``."""
    argv = list(sys.argv)
    if argv and Path(argv[0]).name in ("qnetemu", "__main__.py"):
        argv[0] = "qnetemu"
    return argv


def provenance(*, scenario_file: str | None, scenario_hash: str, command: list[str] | None = None,
               seed: int | None = None, engine: str | None = None) -> dict:
    """The manifest fields every result directory carries."""
    return {
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenario_file": scenario_file,
        "scenario_sha256": scenario_hash,
        "command": command if command is not None else command_line(),
        "seed": seed,
        "engine": engine,
        "versions": package_versions(),
        "git_commit": git_commit(),
        "host": platform.node(),
    }
