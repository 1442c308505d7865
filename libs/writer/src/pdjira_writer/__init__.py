"""The writer kernel shared by jira-writer and pd-writer (a library: never run on its own).

What every writer does the same way lives here; a writer service keeps only what is its
vendor's: endpoints, what the vendor's answers mean, decisions and reads.

- ``spec``: who a writer is (its name, its commands, the vendor it writes to);
- ``vendor_http``: the HTTP base of a vendor client (pacer, 429 and rate-limit headers, the
  vendor's classification of answers, timeouts, the request loop);
- ``outcomes``: applying a command (routes, permanent refusals, skips) and ``errors``;
- ``write_order``: refusing a write caused by an older event than the last one applied;
- ``catalog``: what a vendor lists (projects, priorities...), cached per target;
- ``commands``: the lane handler (decode, apply, publish the outcome);
- ``reads``: typed request/reply responders for the reads other services ask;
- ``metrics`` and ``service``: the service's wiring and its ``python -m`` entry point.
"""

__all__: list[str] = []
