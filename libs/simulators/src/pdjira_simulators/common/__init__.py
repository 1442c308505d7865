"""Pieces both simulators share: JSON responses, request log, faults, rate limits, deliveries."""

__all__: list[str] = []
