"""Wire models as released nodes have them (refusing unknown fields), to check answers against."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from streamr_protocol.models import PayoutSummary, ProbeRecord


class OlderNodeEarningsResponse(BaseModel):
    """`NodeEarningsResponse` before `credit` (nodes up to the credit reasons)."""

    model_config = ConfigDict(extra="forbid")

    currency: str
    today_minor: int
    period_minor: int
    period_from: datetime
    credited_seconds_today: int
    payouts: list[PayoutSummary]
    probes: list[ProbeRecord]
