"""pdjira shared library: contracts, subjects, streams, config, logging, NATS wiring.

No business logic lives here.
"""

__all__: list[str] = []
