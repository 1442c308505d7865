"""Faithful PagerDuty and Jira Server/DC simulators for pdjira's tests, demo and benchmarks.

Each simulator is a real Starlette app (served by uvicorn) that keeps state, enforces the
vendor's rules and sends real, signed webhooks. See README.md beside the package for the
interface.
"""

__all__: list[str] = []
