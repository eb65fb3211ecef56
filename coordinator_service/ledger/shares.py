"""Split an integer pool pro rata to credited seconds with the largest-remainder rule."""

from collections.abc import Mapping

__all__ = ["split_pool"]


def split_pool(pool_minor: int, credited: Mapping[str, int]) -> dict[str, int]:
    """Share `pool_minor` among keys pro rata to their credited seconds, in exact integers.

    Each key first gets `floor(pool * c_i / total)`; the minor units left over (fewer than the
    number of keys) go one each to the largest remainders `pool * c_i mod total`, ties broken by
    key (ascending), so the result never depends on the mapping's order. Keys with zero credit
    get 0; if nobody has credit, everybody gets 0 (the pool is not paid out).
    """
    if pool_minor < 0:
        raise ValueError("pool must not be negative")
    if any(seconds < 0 for seconds in credited.values()):
        raise ValueError("credited seconds must not be negative")
    total = sum(credited.values())
    if total == 0 or pool_minor == 0:
        return dict.fromkeys(credited, 0)
    shares: dict[str, int] = {}
    remainders: list[tuple[int, str]] = []
    for key, seconds in credited.items():
        quotient, remainder = divmod(pool_minor * seconds, total)
        shares[key] = quotient
        remainders.append((remainder, key))
    left = pool_minor - sum(shares.values())
    remainders.sort(key=lambda item: (-item[0], item[1]))
    for _, key in remainders[:left]:
        shares[key] += 1
    return shares
