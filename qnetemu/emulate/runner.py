"""``qnetemu emulate``: run the network in time into a results directory, resumably.

The emulated time is cut into chunks of ``emulation.checkpoint_period_s``.
After each chunk its rows go to ``OUT/parts/`` (Parquet), the whole state is
pickled to ``OUT/checkpoint.pkl`` (written to a temporary file and renamed; read back
with only the emulation's own classes and numpy's generators allowed),
and one fsynced line is appended to ``OUT/journal.jsonl``. A killed run
resumed with ``--resume`` starts from the last checkpoint and, since every
run is cut at the same boundaries, writes the same tables as a run that was
never interrupted. At the end the parts are consolidated into tidy tables
(Parquet + CSV) and ``manifest.json``, and the parts and checkpoint removed.
All of it under ``OUT``'s lock (:class:`qnetemu.results.outdir.DirLock`).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from qnetemu.emulate.kernel import Emulator
from qnetemu.emulate.network import EmuNetwork, build_emulated_network
from qnetemu.emulate.tables import availability_rows, link_rows, night_rows, outage_rows
from qnetemu.errors import UserError
from qnetemu.results.outdir import DirLock
from qnetemu.results.store import MANIFEST, write_table

JOURNAL = "journal.jsonl"
CHECKPOINT = "checkpoint.pkl"
IDENTITY = "emulation.json"
PARTS = "parts"
STREAMED = ("requests", "store_levels", "link_events")
#: Columns of the streamed tables, so an empty table still has them.
COLUMNS = {
    "requests": ["application", "app_index", "request", "arrival_s", "bits", "outcome", "decided_s", "wait_s",
                 "latency_s", "hops", "route"],
    "store_levels": ["time_s", "link_id", "level_bits", "up"],
    "link_events": ["time_s", "element", "name", "event", "cause"],
    "outages": ["application", "start_s", "end_s", "duration_s", "requests_missed"],
    "nights": ["station", "night", "clear"],
}


@dataclass(frozen=True)
class EmulationSummary:
    out_dir: Path
    duration_s: float
    chunks: int
    resumed_from_chunk: int
    requests: int
    served: int
    missed: int
    elapsed_s: float


def _frame(rows: list[dict], name: str) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS.get(name)) if not rows else pd.DataFrame(rows)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _append_journal(path: Path, record: dict) -> None:
    with open(path, "a") as fh:
        fh.write(json.dumps(record) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def boundaries(duration_s: float, period_s: float) -> list[float]:
    """Ends of the chunks: every ``period_s`` and the duration."""
    n = int(duration_s // period_s)
    ends = [k * period_s for k in range(1, n + 1) if k * period_s < duration_s]
    return [*ends, duration_s]


def run_emulation(scenario, resolved, *, scenario_file: str, scenario_hash: str, out_dir: str | Path,
                  duration_s: float, seed: int = 0, resume: bool = False,
                  progress: Callable[[str], None] | None = None,
                  stop_after_chunks: int | None = None, net: EmuNetwork | None = None) -> EmulationSummary:
    """Emulate ``duration_s`` seconds of the scenario's network into ``out_dir``.

    ``OUT`` is locked while the emulation writes it (as ``qnetemu run`` and
    ``sweep`` lock theirs), so a second emulation into it is refused with one
    line before it reads or writes anything there.
    ``stop_after_chunks`` ends the run (as a kill would) after that many new
    chunks; tests use it to check that resuming gives the same tables.
    """
    if not duration_s > 0:
        raise UserError(f"duration must be positive, got {duration_s!r}", field="--duration")
    with DirLock(out_dir):
        return _run_locked(scenario, resolved, scenario_file=scenario_file, scenario_hash=scenario_hash,
                           out=Path(out_dir), duration_s=duration_s, seed=seed, resume=resume, progress=progress,
                           stop_after_chunks=stop_after_chunks, net=net)


def _run_locked(scenario, resolved, *, scenario_file: str, scenario_hash: str, out: Path, duration_s: float,
                seed: int, resume: bool, progress: Callable[[str], None] | None, stop_after_chunks: int | None,
                net: EmuNetwork | None) -> EmulationSummary:
    say = progress or (lambda _m: None)
    t_start = time.perf_counter()
    identity = {"scenario_sha256": scenario_hash, "seed": int(seed), "duration_s": float(duration_s)}
    if (out / MANIFEST).is_file():
        raise UserError("holds a finished emulation (use another --out)", file=str(out))
    if out.exists() and any(out.iterdir()):
        if not resume:
            raise UserError("exists and is not empty (use --resume to finish an interrupted emulation, or another "
                            "--out)", file=str(out))
        if not (out / IDENTITY).is_file():
            raise UserError("is not an emulation directory (no emulation.json)", file=str(out))
        stored = json.loads((out / IDENTITY).read_text())
        changed = [k for k in identity if stored.get(k) != identity[k]]
        if changed:
            raise UserError(f"was started with another {', '.join(changed)}; resume with the same scenario, "
                            "seed and duration, or use another --out", file=str(out))
    # Every input error surfaces here, before anything is written.
    net = net or build_emulated_network(scenario, resolved, file=scenario_file)
    out.mkdir(parents=True, exist_ok=True)
    (out / PARTS).mkdir(exist_ok=True)
    (out / IDENTITY).write_text(json.dumps(identity, indent=1) + "\n")
    ends = boundaries(duration_s, net.spec.checkpoint_period_s)
    done = 0
    if resume and (out / CHECKPOINT).is_file():
        saved = _load_checkpoint(out / CHECKPOINT)
        emulator, done = Emulator(net, saved["state"]), saved["chunk"]
        say(f"resuming after chunk {done} of {len(ends)} (emulated {emulator.state.now_s:,.0f} s)")
    else:
        emulator = Emulator.start(net, seed)
    resumed_from = done
    for path in (out / PARTS).glob("*.parquet"):  # parts of a chunk cut short by a kill
        if int(path.stem.rsplit("-", 1)[1]) > done:
            path.unlink()
    say(f"emulating {duration_s:,.0f} s: {len(net.links)} links, {len(net.applications)} applications, "
        f"{len(ends)} chunks")
    new_chunks = 0
    for chunk in range(done + 1, len(ends) + 1):
        if stop_after_chunks is not None and new_chunks >= stop_after_chunks:
            return EmulationSummary(out, duration_s, done, resumed_from, 0, 0, 0, time.perf_counter() - t_start)
        rows = emulator.run_until(ends[chunk - 1])
        if chunk == len(ends):
            final = emulator.finish()
            rows.requests += final.requests
            rows.levels += [{"time_s": duration_s, "link_id": link.link_id,
                             "level_bits": emulator.state.level_bits[link.index],
                             "up": emulator.link_generating(link.index)} for link in net.links]
        for name, table in zip(STREAMED, (rows.requests, rows.levels, rows.events), strict=True):
            if table:
                pd.DataFrame(table).to_parquet(out / PARTS / f"{name}-{chunk:06d}.parquet", index=False)
        _write_atomic(out / CHECKPOINT, pickle.dumps({"chunk": chunk, "state": emulator.state}))
        served = sum(r["outcome"] == "served" for r in rows.requests)
        _append_journal(out / JOURNAL, {"chunk": chunk, "until_s": ends[chunk - 1], "requests": len(rows.requests),
                                        "served": served, "events": len(rows.events)})
        done, new_chunks = chunk, new_chunks + 1
        say(f"{100 * chunk / len(ends):3.0f} % {ends[chunk - 1]:,.0f}/{duration_s:,.0f} s: {len(rows.requests)} "
            f"requests, {len(rows.requests) - served} missed, {len(rows.events)} failures/repairs")
    return _consolidate(out, net, emulator, duration_s, len(ends), resumed_from, scenario_file, scenario_hash, seed,
                        t_start)


# What an emulation's checkpoint holds: its state dataclasses and numpy's generators. A
# resumed directory may come from anywhere, and plain unpickling would run whatever code a
# crafted file names, so every other global is refused.
_CHECKPOINT_GLOBALS = frozenset({
    ("qnetemu.emulate.kernel", "EmulationState"),
    ("qnetemu.emulate.kernel", "Request"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pcg64", "PCG64"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ("numpy.random.bit_generator", "SeedSequence"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
})


class _CheckpointUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _CHECKPOINT_GLOBALS:
            raise pickle.UnpicklingError(f"refused {module}.{name}, which no emulation checkpoint holds")
        return super().find_class(module, name)


def _load_checkpoint(path: Path) -> dict:
    """The saved chunk and state, or a one-line UserError for a damaged or foreign file."""
    import io

    try:
        saved = _CheckpointUnpickler(io.BytesIO(path.read_bytes())).load()
        if not (isinstance(saved, dict) and isinstance(saved.get("chunk"), int) and "state" in saved):
            raise pickle.UnpicklingError("not an emulation checkpoint")
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError, IndexError) as exc:
        raise UserError(f"damaged or foreign checkpoint ({exc}); use another --out", file=str(path)) from None
    return saved


def _read_parts(out: Path, name: str) -> pd.DataFrame:
    paths = sorted((out / PARTS).glob(f"{name}-*.parquet"))
    if not paths:
        return _frame([], name)
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)


def _consolidate(out: Path, net: EmuNetwork, emulator: Emulator, duration_s: float, chunks: int, resumed_from: int,
                 scenario_file: str, scenario_hash: str, seed: int, t_start: float) -> EmulationSummary:
    from qnetemu.results.manifest import provenance

    tables = {name: _read_parts(out, name) for name in STREAMED}
    tables["requests"] = tables["requests"].sort_values(["app_index", "request"], kind="stable", ignore_index=True)
    outages = _frame(outage_rows(tables["requests"], net, duration_s), "outages")
    tables["outages"] = outages
    tables["availability"] = pd.DataFrame(availability_rows(tables["requests"], outages, net, duration_s))
    tables["link_keys"] = pd.DataFrame(link_rows(net, emulator.state, duration_s))
    tables["nights"] = _frame(night_rows(emulator.state), "nights")
    for name, frame in tables.items():
        write_table(out, name, frame)
    manifest = provenance(scenario_file=scenario_file, scenario_hash=scenario_hash, seed=seed, engine="emulate")
    manifest.update(kind="emulation", scenario_name=net.name, duration_s=duration_s, chunks=chunks, resumed_from_chunk=resumed_from,
                    scheduling=net.spec.scheduling, tables={n: int(len(f)) for n, f in tables.items()},
                    elapsed_s=time.perf_counter() - t_start)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    shutil.rmtree(out / PARTS, ignore_errors=True)
    (out / CHECKPOINT).unlink(missing_ok=True)
    req = tables["requests"]
    return EmulationSummary(out, duration_s, chunks, resumed_from, int(len(req)),
                            int((req["outcome"] == "served").sum()), int((req["outcome"] == "missed").sum()),
                            time.perf_counter() - t_start)
