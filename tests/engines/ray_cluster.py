"""A real two-node Ray cluster on this machine for the tests: a head and a second node, one CPU each,
small object stores, no dashboard, each node in its own process group and temp folder (so a test can
kill one node with kill -9 and start it again)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).with_name("ray"))
STORE = str(90 * 1024 * 1024)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TOKEN = secrets.token_hex(16)


def node_env() -> dict[str, str]:
    """The environment of the nodes (and so of their workers) and of the drivers: this checkout first on the
    path, Ray's token authentication with this cluster's own token."""
    return {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": TOKEN, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_health_check_period_ms": "1000", "RAY_health_check_failure_threshold": "3", "MEDLENS_THREADS": "1", "OMP_NUM_THREADS": "1"}


class LocalCluster:
    def __init__(self) -> None:
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.dirs: list[str] = []
        self.head = self._start(["--head", "--port", str(self.port), "--include-dashboard=false",
                                 "--node-ip-address", "127.0.0.1"])
        self.wait_nodes(1)
        self.node = self.start_node()

    def _start(self, args: list[str]) -> subprocess.Popen:
        tmp = tempfile.mkdtemp(prefix="mlray", dir="/tmp")  # short: Ray's socket paths must stay < 108 chars
        self.dirs.append(tmp)
        cmd = [RAY, "start", *args, "--num-cpus", "1", "--object-store-memory", STORE, "--temp-dir", tmp,
               "--disable-usage-stats", "--block"]
        return subprocess.Popen(cmd, env=node_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)

    def start_node(self) -> subprocess.Popen:
        """Start (again) the second node and wait until the cluster has two."""
        node = self._start(["--address", self.address, "--node-ip-address", "127.0.0.1"])
        self.node = node
        self.wait_nodes(2)
        return node

    def alive_nodes(self) -> int:
        out = subprocess.run([sys.executable, "-c", (
            "import ray; ray.init(address=%r, logging_level='ERROR', log_to_driver=False); "
            "print(sum(1 for n in ray.nodes() if n['Alive']))") % self.address],
            env=node_env(), capture_output=True, text=True, timeout=120)
        try:
            return int(out.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return 0

    def wait_nodes(self, n: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.head.poll() is not None:
                raise RuntimeError("the Ray head exited")
            if self.alive_nodes() == n:
                return
            time.sleep(1)
        raise RuntimeError(f"the Ray cluster did not reach {n} node(s) in {timeout} s")

    def kill_node(self) -> None:
        """kill -9 of the second node: its raylet, object store and workers."""
        kill_group(self.node)

    def worker_pids(self, title: str = "ray::ShardWorker") -> list[int]:
        """Pids of this cluster's processes whose title starts with ``title`` (Ray workers run in their own
        process group: they are found as descendants of the nodes' processes)."""
        groups = {self.head.pid, self.node.pid}
        pids = []
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if cmd.startswith(title) and _descends_from(int(d.name), groups):
                    pids.append(int(d.name))
            except (OSError, ProcessLookupError, ValueError):
                continue
        return pids

    def stop(self) -> None:
        for proc in (self.node, self.head):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in (self.node, self.head):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            kill_group(proc)
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


def _descends_from(pid: int, groups: set[int]) -> bool:
    for _ in range(6):
        if os.getpgid(pid) in groups:
            return True
        stat = Path(f"/proc/{pid}/stat").read_text()
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        if pid <= 1:
            return False
    return False


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
