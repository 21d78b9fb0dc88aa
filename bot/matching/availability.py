"""Weekly availability: local slots to UTC windows, minute bitmasks, and local phrasing.

A week is 10080 minutes from Monday 00:00 UTC. Availability is held as a Python int used as a
bitmask (bit t = free during minute t), which makes "share a window of L minutes" a handful of
big-integer operations instead of interval loops.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta, timezone as dt_timezone
from functools import lru_cache
from itertools import chain
from zoneinfo import ZoneInfo

import numpy as np

from .model import WEEK_MINUTES, WeeklyWindow

FULL_WEEK = (1 << WEEK_MINUTES) - 1
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def merge_windows(windows: Iterable[WeeklyWindow]) -> tuple[WeeklyWindow, ...]:
    """Sort windows and merge those that overlap or touch."""
    merged: list[list[int]] = []
    for w in sorted(windows, key=lambda w: (w.start, w.end)):
        if merged and w.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], w.end)
        else:
            merged.append([w.start, w.end])
    return tuple(WeeklyWindow(s, e) for s, e in merged)


def weekly_windows_utc(
    slots: Iterable[tuple[int, int, int]], timezone: str, week_of: date
) -> tuple[WeeklyWindow, ...]:
    """Convert local weekly slots (day 0=Mon..6=Sun, start minute, end minute of that local day) to UTC windows for the week of `week_of`."""
    return _windows_utc(tuple(slots), timezone, _monday(week_of))


@lru_cache(maxsize=65536)
def _windows_utc(slots: tuple[tuple[int, int, int], ...], timezone: str, monday: date) -> tuple[WeeklyWindow, ...]:
    spans: list[tuple[int, int]] = []
    for day, start, end in slots:
        spans += _slot_spans_utc(day, start, end, timezone, monday)
    return tuple([_window(s, e) for s, e in merge_spans(spans)])


def weekly_windows_many(
    people_slots: Sequence[Sequence[tuple[int, int, int]]], timezones: Sequence[str], week_of: date
) -> list[tuple[WeeklyWindow, ...]]:
    """weekly_windows_utc for a whole roster at once: person k's slots in timezones[k].

    Slots in zones with a steady offset are converted by arithmetic over all of them at once,
    the others each distinct (slot, zone) once; sorting and merging every person's spans is done
    with numpy over all of them together, and equal windows are shared objects.
    """
    monday = _monday(week_of)
    found = _spans_by_arithmetic(people_slots, timezones, monday)
    owner, starts, ends = found if found is not None else _spans_one_by_one(people_slots, timezones, monday)
    # Sort by person, then start; a span opens a new window when it starts after every earlier
    # span of the same person has ended (touching spans merge, as in merge_spans). One key
    # sorts faster than lexsort's three.
    order = np.argsort((owner * (WEEK_MINUTES + 1) + starts) * (WEEK_MINUTES + 1) + ends)
    owner, starts, ends = owner[order], starts[order], ends[order]
    shifted_ends = ends + owner * (2 * WEEK_MINUTES)   # keeps the running maximum within a person
    reach = np.maximum.accumulate(shifted_ends) if len(owner) else shifted_ends
    opens = np.ones(len(owner), dtype=bool)
    opens[1:] = (owner[1:] != owner[:-1]) | (starts[1:] + owner[1:] * (2 * WEEK_MINUTES) > reach[:-1])
    heads = np.flatnonzero(opens)
    window_owner = owner[heads]
    window_start = starts[heads]
    window_end = np.maximum.reduceat(ends, heads) if len(heads) else ends[:0]
    # Share one WeeklyWindow per distinct (start, end).
    pair_id = window_start * (WEEK_MINUTES + 1) + window_end
    distinct, which = np.unique(pair_id, return_inverse=True)
    objects = [WeeklyWindow(int(v // (WEEK_MINUTES + 1)), int(v % (WEEK_MINUTES + 1))) for v in distinct.tolist()]
    windows = [objects[k] for k in which.tolist()]
    bounds = np.searchsorted(window_owner, np.arange(len(people_slots) + 1)).tolist()
    return [tuple(windows[a:b]) for a, b in zip(bounds, bounds[1:])]


def _spans_by_arithmetic(
    people_slots: Sequence[Sequence[tuple[int, int, int]]], timezones: Sequence[str], monday: date
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(person, UTC start, UTC end) of every span of every slot, as arrays: _spans_in_fixed_offset
    for all slots at once with numpy, and _slot_spans_utc for those in a zone whose clock changes
    near the week. None when a slot is not three whole minutes within range: _spans_one_by_one
    then converts them, refusing the bad one as weekly_windows_utc does."""
    counts = np.fromiter(map(len, people_slots), dtype=np.int64, count=len(people_slots))
    if not set(map(len, chain.from_iterable(people_slots))) <= {3}:
        return None
    try:  # read as floats, so that a fractional minute shows instead of being cut off
        exact = np.fromiter(chain.from_iterable(chain.from_iterable(people_slots)), dtype=np.float64,
                            count=3 * int(counts.sum()))
    except (TypeError, ValueError):
        return None
    flat = exact.astype(np.int64)
    day, start, end = flat[0::3], flat[1::3], flat[2::3]
    if not (flat == exact).all() or not ((day >= 0) & (day <= 6) & (start >= 0) & (start < 1440)
                                         & (start < end) & (end <= 2 * 1440)).all():
        return None
    zone_numbers: dict[str, int] = {}
    zone_of = np.fromiter((zone_numbers.setdefault(z, len(zone_numbers)) for z in timezones), dtype=np.int64,
                          count=len(timezones))
    steady = [_steady_offset(zone, monday) for zone in zone_numbers]
    offset_of_zone = np.array([0 if o is None else o for o in steady], dtype=np.int64)
    slot_zone = np.repeat(zone_of, counts)
    slot_owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    first = (day * 1440 + start - offset_of_zone[slot_zone]) % WEEK_MINUTES
    last = first + end - start
    # A slot past Sunday midnight UTC becomes two spans: [first, week) and [0, last - week).
    crosses = last > WEEK_MINUTES
    owners = [slot_owner, slot_owner[crosses]]
    span_starts = [first, np.zeros(int(crosses.sum()), dtype=np.int64)]
    span_ends = [np.minimum(last, WEEK_MINUTES), last[crosses] - WEEK_MINUTES]
    unsteady_zones = [k for k, offset in enumerate(steady) if offset is None]
    if unsteady_zones:
        # Zones whose clocks change in reach of the week: the exact conversion, slot by slot.
        exact_slots = np.isin(slot_zone, unsteady_zones)
        keep = ~exact_slots
        owners, span_starts, span_ends = [owners[0][keep], owners[1][keep[crosses]]], \
            [span_starts[0][keep], span_starts[1][keep[crosses]]], [span_ends[0][keep], span_ends[1][keep[crosses]]]
        zones = list(zone_numbers)
        extra = [(person, a, b) for person, zone, d, s, e in zip(
                     slot_owner[exact_slots].tolist(), slot_zone[exact_slots].tolist(), day[exact_slots].tolist(),
                     start[exact_slots].tolist(), end[exact_slots].tolist())
                 for a, b in _slot_spans_utc(d, s, e, zones[zone], monday)]
        if extra:
            person, a, b = (np.array(column, dtype=np.int64) for column in zip(*extra))
            owners.append(person)
            span_starts.append(a)
            span_ends.append(b)
    return np.concatenate(owners), np.concatenate(span_starts), np.concatenate(span_ends)


def _spans_one_by_one(
    people_slots: Sequence[Sequence[tuple[int, int, int]]], timezones: Sequence[str], monday: date
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """_spans_by_arithmetic for any slots: each distinct (slot, zone) converted once, in Python."""
    converted: dict[tuple, tuple[tuple[int, int], ...]] = {}
    owner: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    for person, (slots, zone) in enumerate(zip(people_slots, timezones)):
        for slot in slots:
            spans = converted.get((slot, zone))
            if spans is None:
                spans = converted[(slot, zone)] = (_spans_in_fixed_offset(slot, _steady_offset(zone, monday)) or
                                                   _slot_spans_utc(slot[0], slot[1], slot[2], zone, monday))
            for a, b in spans:
                owner.append(person)
                starts.append(a)
                ends.append(b)
    return (np.array(owner, dtype=np.int64), np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64))


def _spans_in_fixed_offset(slot: tuple[int, int, int], offset: int | None) -> tuple[tuple[int, int], ...] | None:
    """_slot_spans_utc for a zone whose offset stays `offset` minutes all week and the days around
    it (see _steady_offset); None to fall back to the exact conversion."""
    day, start, end = slot
    if offset is None or not (0 <= day <= 6 and 0 <= start < 1440 and start < end <= 2 * 1440):
        return None  # the exact conversion handles (or refuses) it
    first = (day * 1440 + start - offset) % WEEK_MINUTES
    last = first + end - start
    if last <= WEEK_MINUTES:
        return ((first, last),)
    return ((first, WEEK_MINUTES), (0, last - WEEK_MINUTES))


@lru_cache(maxsize=65536)
def _window(start: int, end: int) -> WeeklyWindow:
    # Rosters repeat the same windows thousands of times; frozen, so they can be shared.
    return WeeklyWindow(start, end)


@lru_cache(maxsize=65536)
def _slot_spans_utc(day: int, start: int, end: int, timezone: str, monday: date) -> tuple[tuple[int, int], ...]:
    # Rosters repeat the same few slots thousands of times; the zone arithmetic runs once per slot.
    # end may pass 1440 for a slot that runs past local midnight (e.g. 23:00-25:00).
    if not (0 <= day <= 6 and 0 <= start < 1440 and start < end <= 2 * 1440):
        raise ValueError(f"bad weekly slot {(day, start, end)!r}")
    tz = _zone(timezone)
    week_start_utc = datetime.combine(monday, time(), dt_timezone.utc)
    local_midnight = datetime.combine(monday + timedelta(days=day), time())
    # Wall-clock arithmetic on naive datetimes, then attach the zone: 15:00 means 15:00 local
    # on that date whatever the DST offset is.
    start_utc = (local_midnight + timedelta(minutes=start)).replace(tzinfo=tz).astimezone(dt_timezone.utc)
    end_utc = (local_midnight + timedelta(minutes=end)).replace(tzinfo=tz).astimezone(dt_timezone.utc)
    length = int((end_utc - start_utc).total_seconds() // 60)
    if length <= 0:  # a slot swallowed by a DST gap
        return ()
    offset = int((start_utc - week_start_utc).total_seconds() // 60) % WEEK_MINUTES
    if offset + length <= WEEK_MINUTES:
        return ((offset, offset + length),)
    # crosses Sunday midnight UTC: split in two
    return ((offset, WEEK_MINUTES), (0, offset + length - WEEK_MINUTES))


def merge_spans(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sort (start, end) spans and merge those that overlap or touch."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1][1] = end
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


def start_runs(spans: tuple[tuple[int, int], ...], length: int) -> tuple[tuple[int, int], ...]:
    """Runs [a, b) of minutes where a session of `length` could start, from merged spans; the
    interval twin of runs(start_mask(windows_mask(spans), length)). No spans means any time."""
    if not spans or spans == ((0, WEEK_MINUTES),):
        return ((0, WEEK_MINUTES),)
    circular = list(spans)
    if len(circular) > 1 and circular[0][0] == 0 and circular[-1][1] == WEEK_MINUTES:
        # One stretch of free time across Sunday midnight UTC.
        first = circular.pop(0)
        last = circular.pop()
        circular.append((last[0], WEEK_MINUTES + first[1]))
    out: list[tuple[int, int]] = []
    for start, end in circular:
        if end - start < length:
            continue
        stop = end - length + 1
        if stop <= WEEK_MINUTES:
            out.append((start, stop))
        else:
            out.append((start, WEEK_MINUTES))
            out.append((0, stop - WEEK_MINUTES))
    return tuple(sorted(out))


def intersect_spans(a: tuple[tuple[int, int], ...], b: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """Intersection of two sorted, merged span lists."""
    # Runs once per chosen pair to phrase its shared time: unpacked and branchy rather than indexed.
    if not a or not b:
        return ()
    out: list[tuple[int, int]] = []
    i = j = 0
    n_a, n_b = len(a), len(b)
    a_start, a_end = a[0]
    b_start, b_end = b[0]
    while True:
        start = a_start if a_start > b_start else b_start
        end = a_end if a_end < b_end else b_end
        if start < end:
            out.append((start, end))
        if a_end < b_end:
            i += 1
            if i == n_a:
                break
            a_start, a_end = a[i]
        else:
            j += 1
            if j == n_b:
                break
            b_start, b_end = b[j]
    return tuple(out)


def shared_windows_many(
    first: Sequence[tuple[tuple[int, int], ...]], second: Sequence[tuple[tuple[int, int], ...]], length: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each k, the stretches of at least `length` minutes that first[k] and second[k] (sorted,
    merged spans) share, one across Sunday midnight UTC joined as circular_spans joins it: the
    windows of circular_spans(intersect_spans(first[k], second[k])) that are long enough, for many
    pairs at once. Returns (k, start, end) arrays ordered by k, then start (a joined stretch, whose
    end passes the week, sits where its later part starts)."""
    n = len(first)
    counts = [np.fromiter(map(len, side), dtype=np.int64, count=n) for side in (first, second)]
    flats = [np.fromiter(chain.from_iterable(chain.from_iterable(side)), dtype=np.int64, count=2 * int(c.sum()))
             for side, c in zip((first, second), counts)]
    (a_count, b_count), (a_flat, b_flat) = counts, flats
    # Every span of one side against every span of the other: spans within a side never touch,
    # so each non-empty overlap is a whole stretch of shared time, none of them touching.
    combos = a_count * b_count
    owner = np.repeat(np.arange(n, dtype=np.int64), combos)
    nth = np.arange(len(owner), dtype=np.int64) - np.repeat(np.cumsum(combos) - combos, combos)
    per_b = b_count[owner]
    a_at = np.repeat(np.cumsum(a_count) - a_count, combos) + nth // np.maximum(per_b, 1)
    b_at = np.repeat(np.cumsum(b_count) - b_count, combos) + nth % np.maximum(per_b, 1)
    start = np.maximum(a_flat[0::2][a_at], b_flat[0::2][b_at])
    end = np.minimum(a_flat[1::2][a_at], b_flat[1::2][b_at])
    met = start < end
    owner, start, end = owner[met], start[met], end[met]
    order = np.lexsort((start, owner))
    owner, start, end = owner[order], start[order], end[order]
    keep = np.ones(len(owner), dtype=bool)
    if len(owner):
        heads = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        tails = np.r_[heads[1:] - 1, len(owner) - 1]
        joined = (tails > heads) & (start[heads] == 0) & (end[tails] == WEEK_MINUTES)
        end[tails[joined]] = WEEK_MINUTES + end[heads[joined]]
        keep[heads[joined]] = False
    keep &= end - start >= length
    return owner[keep], start[keep], end[keep]


def circular_spans(spans: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """Merged spans where one that crosses Sunday midnight UTC is joined (its end may exceed a week);
    the interval twin of circular_runs."""
    if len(spans) > 1 and spans[0][0] == 0 and spans[-1][1] == WEEK_MINUTES:
        first, last = spans[0], spans[-1]
        return spans[1:-1] + ((last[0], WEEK_MINUTES + first[1]),)
    return spans


def runs_mask(found: Iterable[tuple[int, int]]) -> int:
    """Bitmask of the minutes in [a, b) runs."""
    mask = 0
    for a, b in found:
        mask |= ((1 << (b - a)) - 1) << a
    return mask


def windows_mask(windows: Iterable[WeeklyWindow]) -> int:
    """Bitmask of the minutes covered by `windows`; an empty list means any time (rule 4)."""
    mask = 0
    for w in windows:
        mask |= ((1 << (w.end - w.start)) - 1) << w.start
    return mask if mask else FULL_WEEK


def _rotate_down(mask: int, k: int) -> int:
    # Bit t of the result is bit (t + k) mod week of `mask`.
    k %= WEEK_MINUTES
    if k == 0:
        return mask
    return (mask >> k) | ((mask & ((1 << k) - 1)) << (WEEK_MINUTES - k))


def start_mask(mask: int, length: int) -> int:
    """Minutes t such that [t, t+length) is free, going round the week (a morphological erosion)."""
    if mask == FULL_WEEK:
        return FULL_WEEK
    # Doubling: run[a] has bit t when a minutes from t are free; run[a+b] = run[a] & shift(run[b], a).
    result, have = FULL_WEEK, 0
    run, run_len = mask, 1
    n = length
    while n:
        if n & 1:
            result = result & _rotate_down(run, have)
            have += run_len
        n >>= 1
        if n:
            run = run & _rotate_down(run, run_len)
            run_len *= 2
    return result


def usable_minutes(starts: int, length: int) -> int:
    """Minutes covered by windows of at least `length`, given their start mask."""
    if starts == FULL_WEEK:
        return WEEK_MINUTES
    # Each maximal run of r start minutes is one free stretch of r + length - 1 minutes, and
    # distinct runs never overlap (otherwise the gap between them would hold starts too).
    # Rotation by one minute, written out: this runs once per candidate edge.
    previous = ((starts << 1) & FULL_WEEK) | (starts >> (WEEK_MINUTES - 1))
    run_heads = starts & ~previous
    return starts.bit_count() + (length - 1) * run_heads.bit_count()


def runs(mask: int) -> list[tuple[int, int]]:
    """Maximal runs of set bits as [start, end) pairs, in order (no wrap-around merge)."""
    out: list[tuple[int, int]] = []
    pos = 0
    while mask:
        low = (mask & -mask).bit_length() - 1
        mask >>= low
        pos += low
        ones = (mask ^ (mask + 1)).bit_length() - 1
        out.append((pos, pos + ones))
        mask >>= ones
        pos += ones
    return out


def circular_runs(mask: int) -> list[tuple[int, int]]:
    """Runs of set bits where one that crosses Sunday midnight UTC is joined (its end may exceed a week)."""
    found = runs(mask)
    if len(found) > 1 and found[0][0] == 0 and found[-1][1] == WEEK_MINUTES:
        first = found.pop(0)
        last = found.pop()
        found.append((last[0], WEEK_MINUTES + first[1]))
    return found


def usable_windows(mask: int, length: int) -> list[tuple[int, int]]:
    """Circular runs of free minutes that are at least `length` long."""
    return [(s, e) for s, e in circular_runs(mask) if e - s >= length]


_CLOCK = [f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(1440)]  # "HH:MM" of each minute of a day


def _span_text(start_day: int, start_minute: int, days_later: int, end_minute: int) -> str:
    """'Tue 15:30-16:30' for a local span starting on weekday start_day and ending days_later days after:
    '-24:00' when it ends at the next midnight, and with the end's weekday when it ends on a later day."""
    if days_later == 0:
        end_text = _CLOCK[end_minute]
    elif days_later == 1 and end_minute == 0:
        end_text = "24:00"
    else:
        end_text = f"{DAY_NAMES[(start_day + days_later) % 7]} {_CLOCK[end_minute]}"
    return f"{DAY_NAMES[start_day % 7]} {_CLOCK[start_minute]}-{end_text}"


@lru_cache(maxsize=4096)
def _steady_offset(tz_name: str, week_of: date) -> int | None:
    """The zone's UTC offset in whole minutes when it holds from the day before the week to the
    end of the week after (no clock change in reach of any window); otherwise None."""
    tz = _zone(tz_name)
    week_start_utc = datetime.combine(_monday(week_of), time(), dt_timezone.utc)
    offsets = {tz.utcoffset(week_start_utc + timedelta(hours=12 * k)) for k in range(-2, 31)}
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    seconds = int(offset.total_seconds())
    return seconds // 60 if seconds % 60 == 0 else None


@lru_cache(maxsize=65536)
def phrase_window(start: int, end: int, tz_name: str, week_of: date) -> tuple[tuple[int, int], str]:
    """Phrase a UTC window as local 'Tue 15:30-16:30'; also return a sort key (local day, minute)."""
    if end - start >= WEEK_MINUTES:
        return (0, 0), "any time"
    offset = _steady_offset(tz_name, week_of)
    if offset is not None:
        # The common case, integer arithmetic only: local minutes from Monday 00:00 of the week.
        local_start, local_end = start + offset, end + offset
        start_day, end_day = local_start // 1440, local_end // 1440
        start_minute, end_minute = local_start % 1440, local_end % 1440
        return (start_day % 7, start_minute), _span_text(start_day % 7, start_minute, end_day - start_day, end_minute)
    tz = _zone(tz_name)
    week_start_utc = datetime.combine(_monday(week_of), time(), dt_timezone.utc)
    local_start = (week_start_utc + timedelta(minutes=start)).astimezone(tz)
    local_end = (week_start_utc + timedelta(minutes=end)).astimezone(tz)
    day, minute = local_start.weekday(), local_start.hour * 60 + local_start.minute
    days_later = (local_end.date() - local_start.date()).days
    return (day, minute), _span_text(day, minute, days_later, local_end.hour * 60 + local_end.minute)


def phrase_window_many(
    start: np.ndarray, end: np.ndarray, zones: Sequence[str], week_of: date
) -> tuple[np.ndarray, list[str]]:
    """phrase_window for many UTC windows, window i in zones[i]: each one's local start as minutes
    from Monday 00:00 (the sort key, day * 1440 + minute) and its text. Windows in a zone whose
    offset holds around the week are phrased with array arithmetic, the others one by one."""
    keys = np.zeros(len(start), dtype=np.int64)
    texts = [""] * len(start)
    by_zone: dict[str, list[int]] = {}
    for i, zone in enumerate(zones):
        by_zone.setdefault(zone, []).append(i)
    for zone, members in by_zone.items():
        offset = _steady_offset(zone, week_of)
        at = np.array(members, dtype=np.int64)
        s, e = start[at], end[at]
        if offset is None or ((e - s) >= WEEK_MINUTES).any():
            for i, a, b in zip(members, s.tolist(), e.tolist()):
                (day, minute), texts[i] = phrase_window(a, b, zone, week_of)
                keys[i] = day * 1440 + minute
            continue
        # phrase_window's steady-offset branch, for every window of the zone at once.
        local_start, local_end = s + offset, e + offset
        start_day, end_day = local_start // 1440, local_end // 1440
        start_minute, end_minute = local_start % 1440, local_end % 1440
        keys[at] = start_day % 7 * 1440 + start_minute
        for i, text in zip(members, map(_span_text, (start_day % 7).tolist(), start_minute.tolist(),
                                        (end_day - start_day).tolist(), end_minute.tolist())):
            texts[i] = text
    return keys, texts


def phrase_windows(
    windows: Iterable[tuple[int, int]], tz_name: str, week_of: date, conjunction: str = "and", limit: int = 4
) -> str:
    """Phrase UTC windows in local time, in local weekday order: 'Tue 07:00-07:45 and Wed 12:00-12:45'."""
    return _phrase_windows(tuple(windows), tz_name, week_of, conjunction, limit)


@lru_cache(maxsize=65536)
def _phrase_windows(windows: tuple[tuple[int, int], ...], tz_name: str, week_of: date, conjunction: str, limit: int) -> str:
    # Many pairs share the same windows; the zone arithmetic runs once for each.
    phrased = sorted(phrase_window(s, e, tz_name, week_of) for s, e in windows)
    texts = [text for _, text in phrased]
    if len(texts) > limit:
        texts = texts[:limit] + [f"{len(phrased) - limit} more"]
    return join_words(texts, conjunction)


def join_words(items: list[str], conjunction: str = "and") -> str:
    """'a', 'a and b', 'a, b and c'."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"
