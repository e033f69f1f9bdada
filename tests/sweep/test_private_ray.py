"""The private local Ray of ``qnetemu sweep``: loopback only, token-authenticated, no dashboard, nothing left.

Slow (it starts Ray: ~10 s idle, a minute when the machine is loaded).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}

# A client that asks the GCS for one key; prints what happened.
GCS_CLIENT = textwrap.dedent(
    """
    import sys
    from ray._raylet import GcsClient
    try:
        GcsClient(address=sys.argv[1]).internal_kv_get(b"x", None, timeout=30)
        print("ACCEPTED")
    except Exception as exc:
        print("REFUSED", type(exc).__name__, exc)
    """
)


def _one() -> int:
    return 1


def _names(p, temp_dir: str) -> bool:
    import psutil

    try:
        return temp_dir in " ".join(p.cmdline())
    except psutil.Error:
        return False


def _client(gcs: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    out = subprocess.run([sys.executable, "-c", GCS_CLIENT, gcs], env={**base, **env},
                         capture_output=True, text=True, timeout=180)
    return (out.stdout + out.stderr).strip()


def test_private_ray_is_loopback_only_authenticated_and_cleaned_up():
    import psutil
    import ray
    import ray.cloudpickle

    from qnetemu.sweep.executors import RayExecutor, ray_processes

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    home_token = Path.home() / ".ray" / "auth_token"
    had_home_token = home_token.exists()
    env_before = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")}
    # Children this test process had before (e.g. multiprocessing's resource tracker, left by
    # earlier tests in the session) are not the executor's.
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with RayExecutor(workers=1) as ex:
        assert ray.get(ray.remote(_one).remote()) == 1  # a worker process runs (and listens) too
        temp_dir = ex._private.temp_dir
        assert Path(temp_dir).is_dir() and len(temp_dir) < 40
        token = os.environ["RAY_AUTH_TOKEN"]
        assert os.environ["RAY_AUTH_MODE"] == "token" and len(token) == 64
        me = psutil.Process()
        node = [p for p in psutil.process_iter() if _names(p, temp_dir)]
        procs = [me, *me.children(recursive=True)]
        for p in node:
            procs += [p, *p.children(recursive=True)]
        procs = [p for p in {p.pid: p for p in procs}.values() if p.pid not in before]
        listening: list[tuple[str, str, int]] = []
        for p in procs:
            try:
                listening += [(p.name(), c.laddr.ip, c.laddr.port) for c in p.net_connections("inet")
                              if c.status == psutil.CONN_LISTEN]
                cmdline = " ".join(p.cmdline())
            except psutil.NoSuchProcess:
                continue
            if "dashboard/dashboard.py" in cmdline:  # Ray's API server runs on every head; its web UI must not
                assert "--disable-frontend" in cmdline, cmdline
        assert 8265 not in {port for _, _, port in listening}  # the dashboard's port
        names = {n for n, _, _ in listening}
        assert {"gcs_server", "raylet"} <= names, listening
        exposed = [s for s in listening if s[1] not in LOOPBACK]
        assert not exposed, f"listening beyond loopback: {exposed}"
        gcs = ray.get_runtime_context().gcs_address
        assert gcs.startswith("127.0.0.1:")
        # Someone else on the machine, without the token or with a wrong one, is refused.
        for env in ({"RAY_AUTH_MODE": "disabled"}, {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "0" * 64}):
            answer = _client(gcs, **env)
            assert answer.startswith("REFUSED") and "InvalidAuthToken" in answer, answer
        assert _client(gcs, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token) == "ACCEPTED"
        started = [p.pid for p in procs if p.pid != me.pid]
        assert set(started) <= set(ray_processes(temp_dir))  # what the executor will stop
    assert not ray.is_initialized()
    assert not Path(temp_dir).exists()  # Ray's temp dir is removed
    assert {k: os.environ.get(k) for k in env_before} == env_before  # the environment is restored
    assert home_token.exists() == had_home_token  # no token file written
    alive = [pid for pid in started if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert not alive, alive  # every process it started has ended
