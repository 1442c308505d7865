"""Free TCP ports on the loopback interface."""

from __future__ import annotations

import asyncio
import random
import socket
from pathlib import Path

from pdjira_devstack.waiting import block_on, wait_until

__all__ = ["free_port", "port_open", "wait_port"]

_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOW = 20_000  # the pick is from here up to where the kernel's ephemeral ports start


def _ephemeral_start() -> int:
    try:
        return int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def free_port() -> int:
    """A port free now, for a process that binds it a moment later.

    Not one the kernel hands out itself: those come from the ephemeral range, where every
    outgoing connection on the machine (test clients, other test runs) also takes its local
    port, so one of them could take it first. A random port below that range can only be
    taken by another explicit pick, and is checked to be free."""
    top = _ephemeral_start() - 1
    for _ in range(100):
        port = random.randint(_LOW, top)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # a crowded machine
        sock.bind(("127.0.0.1", 0))
        chosen: int = sock.getsockname()[1]
        return chosen


async def port_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port`` now."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


def wait_port(port: int, timeout: float = 10.0) -> bool:
    """True once something accepts connections on 127.0.0.1:``port``."""
    try:
        block_on(wait_until(lambda: port_open(port), timeout=timeout, what=f"port {port}"))
    except TimeoutError:
        return False
    return True
