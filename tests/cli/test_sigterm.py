"""SIGTERM (what batch schedulers send) stops a command as Ctrl-C does: clean-up runs, exit 143."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

# A command that terminates itself mid-way; its `finally` is what a `with` block that
# stops a private Ray or SeQUeNCe workers by pid runs.
SELF_TERMINATING = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    from qnetemu import cli

    @cli.app.command("selftest-sigterm", hidden=True)
    def _selftest():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(120)
        finally:
            Path(sys.argv[1]).write_text("cleaned up")

    code = cli.main(["selftest-sigterm"])
    print("SIGTERM handler left:", signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
    sys.exit(code)
    """
)


def test_sigterm_unwinds_the_command_and_exits_143(tmp_path):
    script = tmp_path / "self_terminating.py"
    script.write_text(SELF_TERMINATING)
    marker = tmp_path / "marker"
    out = subprocess.run([sys.executable, str(script), str(marker)], capture_output=True, text=True,
                         timeout=100, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 143, out.stderr
    assert marker.read_text() == "cleaned up"
    assert out.stderr.strip().splitlines()[-1] == "terminated"
    assert "SIGTERM handler left: True" in out.stdout  # main() restores the default afterwards


def test_in_process_main_leaves_the_sigterm_disposition_as_it_was(cli):
    before = signal.getsignal(signal.SIGTERM)  # SIG_DFL, or whatever an earlier ray.init set
    code, _, _ = cli("schema")
    assert code == 0
    assert signal.getsignal(signal.SIGTERM) is before


SCENARIO = {  # one SeQUeNCe chain that runs for many seconds of wall time
    "name": "long-chain",
    "sites": [{"name": "West", "lat_deg": 46.20, "lon_deg": 6.14},
              {"name": "East", "lat_deg": 46.52, "lon_deg": 6.63}],
    "links": [{"a": "West", "b": "East", "length_km": 40.0}],
    "architectures": ["repeater"],
    "qkd": {"preset": "commercial_decoy_bb84"},
    "repeater": {"memory": {"efficiency": 0.9, "coherence_time_s": 1.0, "memories_per_node": 1,
                            "attempt_rate_hz": 1.0e5},
                 "link_fidelity": 0.99,
                 "protocol": {"swap_order": "nested", "link_generation": "negotiated",
                              "swap_messaging": "classical", "multiplexing": "single"},
                 "placement": {"spacing_km": 20}},
    "engine": {"max_pairs": 10_000_000, "max_time_s": 1.0e4},
    "demands": [{"a": "West", "b": "East"}],
}


@pytest.mark.slow
def test_sigterm_stops_the_private_ray_by_pid(tmp_path):
    """``qnetemu run --engine sequence --address local``, SIGTERM once the chain runs on Ray:
    exit 143 and none of the private Ray's processes is left (they used to outlive the driver)."""
    import psutil

    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    before = set(Path("/tmp").glob("qr-*"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "qnetemu", "run", str(path), "--engine", "sequence", "--address", "local",
         "--no-plots", "--out", str(tmp_path / "out")],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines = []
    try:
        for line in proc.stderr:  # progress lines; the Ray one comes once the private Ray is up
            lines.append(line)
            if "as Ray tasks on a private Ray" in line:
                break
        temp_dir = ""

        def rays():
            found = []
            for p in psutil.process_iter(["cmdline"]):
                try:
                    if p.pid != proc.pid and temp_dir in " ".join(p.info["cmdline"] or ()):
                        found.append(p)
                except psutil.Error:
                    continue
            return found

        # Wait (no timing in the verdict) until the private Ray's node runs a worker:
        # the chain is then on Ray, past `ray start`.
        for _ in range(600):
            temp_dirs = set(Path("/tmp").glob("qr-*")) - before
            if len(temp_dirs) == 1:
                temp_dir = str(next(iter(temp_dirs)))
                if any("default_worker.py" in " ".join(p.cmdline()) for p in rays() if p.is_running()):
                    break
            assert proc.poll() is None, "".join(lines)
            time.sleep(0.5)
        assert temp_dir and rays(), "".join(lines)
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=180)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, "".join(lines) + rest
    assert rest.strip().splitlines()[-1] == "terminated"
    for _ in range(60):  # killed processes may need a moment to be reaped by their parents
        if not rays():
            break
        time.sleep(0.5)
    assert not [p.pid for p in rays()]
    assert not Path(temp_dir).exists()
