"""pdjira pd-writer: the only code that writes to PagerDuty.

It applies ``commands.pd.>`` (incident status changes) convergently and publishes what happened to
``outcomes.pd.<account>``. Run it with ``python -m pdjira_pd_writer --config FILE``.
"""

__all__: list[str] = []
