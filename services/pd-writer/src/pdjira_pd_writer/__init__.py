"""pdjira pd-writer: the only code that writes to PagerDuty.

It applies ``commands.pd.>`` (incident status changes, notes) convergently, in per-incident
lanes, under each token's rate limit, as the mapped PagerDuty user, and publishes what happened
to ``outcomes.pd.<account>``. It also answers user reads on ``reads.pd.<account>.<what>``.
Run it with ``python -m pdjira_pd_writer --config FILE``.
"""

__all__: list[str] = []
