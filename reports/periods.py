"""Report periods: a year (2025), quarter (2025-Q4), month (2025-11), ISO week (2025-W48), or a
span of whole years (2005..2025) for a report over the whole history.

A period is a half-open date interval [start, end). Each one knows the period before it
and the same period a year earlier, the two comparisons every table of the report shows.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from tbt_alert.errors import PeriodError

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$", re.IGNORECASE)
_YEARS = re.compile(r"^(\d{4})\.\.(\d{4})$")
# Reports cover what the sources hold (the WTO's records start in 1995) and plan ahead; a year
# outside these is a typo, and one near 1 or 9999 overflows the date arithmetic of the comparisons.
FIRST_YEAR = 1990
LAST_YEAR = 2100


@dataclass(frozen=True)
class Period:
    """A half-open interval of days, labelled the way analysts write it."""

    kind: str  # year, quarter, month, week, years
    label: str
    start: dt.date
    end: dt.date  # exclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def contains(self, day: dt.date) -> bool:
        return self.start <= day < self.end

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        return _shift(self, -1)

    def year_ago(self) -> Period:
        """The same period one year earlier (for weeks: the same ISO week number, or the year's last)."""
        if self.kind == "years":
            return years_period(self.start.year - 1, self.end.year - 2)
        if self.kind == "year":
            return _shift(self, -1)
        if self.kind == "quarter":
            return _shift(self, -4)
        if self.kind == "month":
            return _shift(self, -12)
        iso_year, week, _ = self.start.isocalendar()
        last_week = dt.date(iso_year - 1, 12, 28).isocalendar()[1]
        return week_period(iso_year - 1, min(week, last_week))


def parse_period(text: str) -> Period:
    """Read 2025, 2025-Q4, 2025-11 or 2025-W48; anything else is an error saying what to write."""
    value = text.strip()
    for year in re.findall(r"\d{4}", value)[:2]:
        if not FIRST_YEAR <= int(year) <= LAST_YEAR:
            raise PeriodError(
                f"period {text!r} names the year {year}; a report covers the years {FIRST_YEAR} to {LAST_YEAR}."
            )
    if m := _YEAR.match(value):
        year = int(m.group(1))
        return Period("year", f"{year}", dt.date(year, 1, 1), dt.date(year + 1, 1, 1))
    if m := _QUARTER.match(value):
        return quarter_period(int(m.group(1)), int(m.group(2)))
    if m := _MONTH.match(value):
        month = int(m.group(2))
        if not 1 <= month <= 12:
            raise PeriodError(f"period {text!r} has no month {month}; write a month as YYYY-MM, e.g. 2025-11.")
        return month_period(int(m.group(1)), month)
    if m := _YEARS.match(value):
        first, last = int(m.group(1)), int(m.group(2))
        if first > last:
            raise PeriodError(f"period {text!r} ends before it starts; write the earlier year first, e.g. 2005..2025.")
        return years_period(first, last)
    if m := _WEEK.match(value):
        year, week = int(m.group(1)), int(m.group(2))
        last_week = dt.date(year, 12, 28).isocalendar()[1]
        if not 1 <= week <= last_week:
            raise PeriodError(f"period {text!r}: ISO year {year} has weeks 1 to {last_week}; pick one of them.")
        return week_period(year, week)
    raise PeriodError(
        f"period {text!r} is not understood; write a year (2025), quarter (2025-Q4), month (2025-11) "
        "ISO week (2025-W48) or span of years (2005..2025)."
    )


def years_period(first: int, last: int) -> Period:
    return Period("years", f"{first}..{last}", dt.date(first, 1, 1), dt.date(last + 1, 1, 1))


def quarter_period(year: int, quarter: int) -> Period:
    start = dt.date(year, 3 * (quarter - 1) + 1, 1)
    end = dt.date(year + 1, 1, 1) if quarter == 4 else dt.date(year, 3 * quarter + 1, 1)
    return Period("quarter", f"{year}-Q{quarter}", start, end)


def month_period(year: int, month: int) -> Period:
    start = dt.date(year, month, 1)
    end = dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
    return Period("month", f"{year}-{month:02d}", start, end)


def week_period(iso_year: int, week: int) -> Period:
    start = dt.date.fromisocalendar(iso_year, week, 1)
    return Period("week", f"{iso_year}-W{week:02d}", start, start + dt.timedelta(days=7))


def _shift(period: Period, steps: int) -> Period:
    if period.kind == "years":
        length = period.end.year - period.start.year
        return years_period(period.start.year + steps * length, period.end.year - 1 + steps * length)
    if period.kind == "year":
        year = int(period.label) + steps
        return Period("year", f"{year}", dt.date(year, 1, 1), dt.date(year + 1, 1, 1))
    if period.kind == "quarter":
        index = period.start.year * 4 + (period.start.month - 1) // 3 + steps
        return quarter_period(index // 4, index % 4 + 1)
    if period.kind == "month":
        index = period.start.year * 12 + period.start.month - 1 + steps
        return month_period(index // 12, index % 12 + 1)
    start = period.start + dt.timedelta(days=7 * steps)
    iso_year, week, _ = start.isocalendar()
    return week_period(iso_year, week)


def months_back(end: dt.date, count: int) -> list[Period]:
    """The ``count`` calendar months ending with the month that contains ``end - 1 day``, oldest first."""
    last = end - dt.timedelta(days=1)
    index = last.year * 12 + last.month - 1
    return [month_period((index - k) // 12, (index - k) % 12 + 1) for k in range(count - 1, -1, -1)]
