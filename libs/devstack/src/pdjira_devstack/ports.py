"""Free TCP ports on the loopback interface."""

from __future__ import annotations

import asyncio
import socket

from pdjira_devstack.waiting import block_on, wait_until

__all__ = ["free_port", "port_open", "wait_port"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
