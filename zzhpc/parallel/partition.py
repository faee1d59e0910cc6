"""Block partitions of ``n`` items over ``p`` parts: the first ``n % p`` parts get one item more."""


def block_partition(n, p, i):
    """``(start, count)`` of part ``i`` of ``n`` items split over ``p`` parts."""
    base, extra = divmod(n, p)
    count = base + (1 if i < extra else 0)
    start = i * base + min(i, extra)
    return start, count


def block_ranges(n, p):
    """All parts: list of ``(start, count)``."""
    return [block_partition(n, p, i) for i in range(p)]
