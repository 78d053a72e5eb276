"""Issue 21, "ten million requests": the seed and the pages that must not slow down with the table.

    .venv/bin/python tests/bench/run.py --sizes 10000000 --backends postgresql \
        --only queue,search,request,lookup,dashboard

At TEN_MILLION requests and above the run judges the seed (under 15 minutes) and the pages at -c2, two people at
the same instant (at -c8 on two cores the p95 is mostly the wait for a worker): the queue page with its filters, the
header search by tracking number and by name, the request page and the supervisor's dashboard.

Counting the seeded days (what the hourly job does once after a bulk load, `figures.close_missing`) reads each day's
history and takes about 90 s at a million requests, fifteen minutes or more at ten million; from TEN_MILLION on, the
run counts only the last COUNTED_DAYS days (the dashboard's month and its 14-day trend read no further) unless
--count-days says otherwise; the report says how many days were counted.
"""
import datetime as dt

TEN_MILLION = 10_000_000
COUNTED_DAYS = 45
SEED_SECONDS = 15 * 60
TARGETS = {"queue": 100, "lookup-tracking": 150, "lookup-name": 150, "request": 100, "dashboard": 500}
WHAT = {"queue": "queue page p95", "lookup-tracking": "header search p95, tracking number",
        "lookup-name": "header search p95, name", "request": "request page p95", "dashboard": "dashboard p95"}


def days_to_count(size: int, asked: int | None) -> int | None:
    """How many of the last days to count before the pages are measured (None: every day since the first)."""
    if asked is not None:
        return asked or None
    return COUNTED_DAYS if size >= TEN_MILLION else None


def count_days(days: int | None) -> list:
    """Count the days that are over, as the hourly job does: every one not counted yet (`days` None), or the last
    `days` of them, then today so far. Inside an open connection; returns the days counted."""
    from intranet.stats import figures

    if days is None:
        counted = figures.close_missing()
    else:
        today = figures.local_today()
        counted = []
        for back in range(days, 0, -1):
            day = today - dt.timedelta(days=back)
            figures.close_day(day, snapshot=back <= figures.SNAPSHOT_DAYS)
            counted.append(day)
    figures.count_so_far()  # and today up to the last full hour, as the job does each hour
    return counted


def verdicts(result, at: str, low: int, page) -> list[str]:
    """Issue 21's figures for one backend at one size (from TEN_MILLION on); `page(result, measurement,
    connections)` finds a run."""
    if result["size"] < TEN_MILLION:
        return []
    mark = lambda ok: "met" if ok else "**not met**"  # noqa: E731
    lines = [f"- {at}: seeded in {result['seed_s']:.0f} s (target < {SEED_SECONDS} s): "
             f"{mark(result['seed_s'] < SEED_SECONDS)}"]
    for measurement, target in TARGETS.items():
        found = page(result, measurement, low)
        if found:
            ms = found["p95_us"] / 1000
            lines.append(f"- {at}: {WHAT[measurement]} {ms:.1f} ms at -c{low} (target < {target} ms): "
                         f"{mark(ms < target)}")
    return lines
