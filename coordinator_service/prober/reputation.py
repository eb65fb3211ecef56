"""Beta reputation with forgetting, after Storj's audit score.

Each probe updates the node's evidence: `α ← λα + w·success`, `β ← λβ + w·failure`, with
λ = 0.95, so old evidence fades (a probe 14 probes ago counts half). The score is `α / (α + β)`.

Weights by reason: a passed probe adds 1 to α; a timeout, or a peer audit's `slow` segment (a
lossy link is no cheat), adds 0.3 to β (networks drop packets:
an honest node with 10 % random timeouts keeps a score near 0.97 and, over 2,000 simulated days of a
probe a minute, never dropped below 0.81); every other failure (refused,
HTTP error, stale playlist, wrong bytes, proof failure, no relay, private address) adds 3 to β.

A node is flagged when its score falls below 0.70 and unflagged only once it climbs back to 0.80
(hysteresis, so a borderline node does not flap). A node that always passed sits at α = 20, β = 0
(the fixed point `1 / (1 − λ)`); from there three hard failures in a row give 0.667 (flagged),
two give 0.755 (not flagged), and it takes 18 timeouts in a row to reach the flag line.
`outdated` (an app too old to sign its segments) changes nothing: it proves no cheating, but the
probe did not pass, so that time earns nothing and the node gets no viewers. A new
node starts at that fixed point ("starts trusting"); a flagged node that is repaired is unflagged
after about 20 passed probes.
"""

from dataclasses import dataclass, replace
from typing import Final, Literal, get_args

__all__ = [
    "FAILURE_WEIGHTS",
    "FLAG_BELOW",
    "FORGETTING",
    "INITIAL_ALPHA",
    "NEUTRAL",
    "REASONS",
    "UNFLAG_AT",
    "Reason",
    "Reputation",
]

Reason = Literal[
    "ok",
    "timeout",
    "refused",
    "http_error",
    "stale",
    "hash_mismatch",
    "not_owned",
    "no_relay",
    "private_address",
    "slow",
    "outdated",
]
REASONS: Final[tuple[Reason, ...]] = get_args(Reason)
NEUTRAL: Final[frozenset[Reason]] = frozenset({"outdated"})

FORGETTING: Final = 0.95
INITIAL_ALPHA: Final = 1.0 / (1.0 - FORGETTING)
FLAG_BELOW: Final = 0.70
UNFLAG_AT: Final = 0.80
SUCCESS_WEIGHT: Final = 1.0
TIMEOUT_WEIGHT: Final = 0.3
HARD_FAILURE_WEIGHT: Final = 3.0
FAILURE_WEIGHTS: Final[dict[Reason, float]] = {
    reason: (TIMEOUT_WEIGHT if reason in ("timeout", "slow") else HARD_FAILURE_WEIGHT)
    for reason in REASONS
    if reason != "ok" and reason not in NEUTRAL
}


@dataclass(frozen=True, slots=True)
class Reputation:
    """A node's evidence (α, β) and whether it is flagged."""

    alpha: float = INITIAL_ALPHA
    beta: float = 0.0
    flagged: bool = False

    @property
    def score(self) -> float:
        """Return α / (α + β); 1.0 with no evidence at all."""
        weight = self.alpha + self.beta
        return self.alpha / weight if weight > 0 else 1.0

    def after(self, reason: Reason) -> "Reputation":
        """Return the reputation after one probe that ended with `reason`."""
        if reason in NEUTRAL:
            return self
        if reason == "ok":
            alpha = FORGETTING * self.alpha + SUCCESS_WEIGHT
            beta = FORGETTING * self.beta
        else:
            alpha = FORGETTING * self.alpha
            beta = FORGETTING * self.beta + FAILURE_WEIGHTS[reason]
        updated = replace(self, alpha=alpha, beta=beta)
        if self.flagged:
            return replace(updated, flagged=updated.score < UNFLAG_AT)
        return replace(updated, flagged=updated.score < FLAG_BELOW)
