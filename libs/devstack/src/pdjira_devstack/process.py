"""One OS process of the stack (a service or a simulator): start, wait healthy, kill -9, restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from pdjira_devstack.waiting import block_on, wait_until

__all__ = ["ManagedProcess"]


class ManagedProcess:
    """``python -m <module> <args>`` with its output in ``log_file`` and a health URL to wait on."""

    def __init__(
        self,
        name: str,
        module: str,
        args: Sequence[str],
        *,
        health_url: str,
        log_file: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.module = module
        self.args = list(args)
        self.health_url = health_url
        self.log_file = log_file
        self.env = dict(env or {})
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> ManagedProcess:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_file, "ab")  # noqa: SIM115 - handed to the child for its lifetime
        self._proc = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,
        )
        log.close()
        return self

    async def healthy(self, timeout: float = 30.0) -> None:
        """Until the health URL answers 2xx; RuntimeError (with the log's tail) if the process
        exits first or is not healthy in time."""
        last_error = "no answer yet"

        async def probe() -> bool:
            nonlocal last_error
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {self._proc.returncode} while starting; "
                    f"see {self.log_file}:\n{self.tail()}"
                )
            try:
                response = await client.get(self.health_url)
            except httpx.HTTPError as exc:
                last_error = type(exc).__name__
                return False
            last_error = f"HTTP {response.status_code}"
            return response.status_code < 300

        async with httpx.AsyncClient(timeout=1.0, trust_env=False) as client:
            try:
                await wait_until(probe, timeout=timeout, what=self.health_url, interval=0.05)
            except TimeoutError:
                raise RuntimeError(
                    f"{self.name} not healthy at {self.health_url} after {timeout}s "
                    f"({last_error}); see {self.log_file}:\n{self.tail()}"
                ) from None

    def wait_healthy(self, timeout: float = 30.0) -> None:
        block_on(self.healthy(timeout))

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would: no cleanup, no acks."""
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.wait(10)

    def terminate(self) -> None:
        """SIGTERM without waiting: several processes then stop at the same time."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout: float = 15.0) -> None:
        """Until the process has exited; SIGKILL if it takes longer than ``timeout``."""
        if self._proc is not None:
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def stop(self, timeout: float = 15.0) -> None:
        self.terminate()
        self.wait_stopped(timeout)

    def restart(self) -> None:
        self.stop()
        self.start().wait_healthy()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
