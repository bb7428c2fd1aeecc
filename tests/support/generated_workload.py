"""Generated application workloads for the rollback trigger's tests: error counts per sampled interval.

``intervals(error_share, ...)`` gives ``(since, until, errors, total)`` for a watch sampled every ``interval``
seconds whose first sample (at 0) covers the interval before it, as the monitor samples. ``error_share(second)``
is the share of failing requests in that second; ``quiet(second)`` means no traffic at all in it.
"""
REQUESTS_PER_SECOND = 1000


def intervals(error_share, watch=420, interval=15, quiet=lambda second: False):
    out = []
    until = 0
    while until <= watch:
        since = until - interval
        errors = total = 0
        for second in range(since, until):
            if quiet(second):
                continue
            total += REQUESTS_PER_SECOND
            errors += int(round(REQUESTS_PER_SECOND * error_share(second)))
        out.append((since, until, errors, total))
        until += interval
    return out


def samples(error_share, watch=420, interval=15, quiet=lambda second: False):
    """The same workload as monitor samples (``since_s``, ``until_s``, ``error_rate``)."""
    return [{"seq": index, "since_s": since, "until_s": until, "warnings": [],
             "error_rate": {"errors": errors, "total": total, "rate": (float(errors) / total) if total else None}}
            for index, (since, until, errors, total) in enumerate(intervals(error_share, watch, interval, quiet))]
