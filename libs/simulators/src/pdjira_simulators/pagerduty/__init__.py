"""PagerDuty REST v2 + webhooks v3 simulator."""

from pdjira_simulators.pagerduty.app import create_app
from pdjira_simulators.pagerduty.settings import PagerDutySettings

__all__ = ["PagerDutySettings", "create_app"]
