"""Integer fit points per factor, and the load cost of a mentor's k-th mentee."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import chain
from operator import attrgetter

import numpy as np

from .availability import WEEK_MINUTES, usable_minutes
from .eligibility import Profile
from .model import RoundSettings

# Points before the participants' weights scale them. Integers keep the solver exact.
NEED_POINTS = 40            # the most central need; the i-th need earns NEED_POINTS // i
BAND_POINTS = 20
SUBJECT_POINTS = 20
SCHEDULE_POINTS = 15        # earned in full once the shared usable time reaches the cap below
SCHEDULE_CAP_SESSIONS = 4   # more shared time than four sessions' worth adds nothing
CROSS_SITE_POINTS = 10
LOAD_STEP = 8               # cost of each mentee a mentor already has (this round or recently)

FIT_FACTORS = ("needs", "grade_band", "subject", "schedule", "cross_site")
DEFAULT_WEIGHT = 0.5        # a factor nobody weighted keeps its points unchanged


def need_points(position: int) -> int:
    """Points for meeting the need at `position` (0 = most central) of a mentee's list."""
    return NEED_POINTS // (position + 1)  # fit_parts inlines this


def multiplier(mentor: Profile, mentee: Profile, factor: str) -> float:
    """Scale for a factor from both people's own weights: 0.5 (neither cares) .. 1.5 (both care most)."""
    return 0.5 + (mentor.weights.get(factor, DEFAULT_WEIGHT) + mentee.weights.get(factor, DEFAULT_WEIGHT)) / 2


def _scaled(base: int, mentor: Profile, mentee: Profile, factor: str) -> int:
    if base == 0:
        return 0
    return math.floor(base * multiplier(mentor, mentee, factor) + 0.5)


def schedule_base(usable: int, session_minutes: int) -> int:
    """Unweighted schedule points for `usable` shared minutes."""
    cap = SCHEDULE_CAP_SESSIONS * session_minutes
    return SCHEDULE_POINTS * min(usable, cap) // cap


def shared_usable_minutes(mentor: Profile, mentee: Profile, session_minutes: int) -> int:
    """Minutes of common free time that lie in stretches of at least one session."""
    starts = mentor.starts(session_minutes) & mentee.starts(session_minutes)
    return usable_minutes(starts, session_minutes)


def fit_parts(mentor: Profile, mentee: Profile, settings: RoundSettings) -> tuple[int, int, int, int, int]:
    """Weighted integer points for each factor in FIT_FACTORS."""
    strengths = mentor.strengths
    needs = 0
    for i, (need, _) in enumerate(mentee.needs):  # a plain loop: this runs once per candidate edge
        if need in strengths:
            needs += NEED_POINTS // (i + 1)
    band = BAND_POINTS if mentor.bands and not mentor.bands.keys().isdisjoint(mentee.bands.keys()) else 0
    subject = (
        SUBJECT_POINTS if mentor.subjects and not mentor.subjects.keys().isdisjoint(mentee.subjects.keys()) else 0
    )
    schedule = schedule_base(shared_usable_minutes(mentor, mentee, settings.session_minutes), settings.session_minutes)
    cross = 0
    if settings.cross_site != "neutral" and mentor.site and mentee.site and mentor.site != mentee.site:
        cross = CROSS_SITE_POINTS if settings.cross_site == "prefer" else -CROSS_SITE_POINTS
    if not mentor.weights and not mentee.weights:
        return (needs, band, subject, schedule, cross)  # every multiplier is 1: skip the floats
    return (
        _scaled(needs, mentor, mentee, "needs"),
        _scaled(band, mentor, mentee, "grade_band"),
        _scaled(subject, mentor, mentee, "subject"),
        _scaled(schedule, mentor, mentee, "schedule"),
        _scaled(cross, mentor, mentee, "cross_site"),
    )


def fit(mentor: Profile, mentee: Profile, settings: RoundSettings) -> int:
    """Total fit of a pair before load, in integer points."""
    return sum(fit_parts(mentor, mentee, settings))


def load_cost(k: int, recent: int) -> int:
    """Cost of giving a mentor its k-th mentee this round (k >= 1) after `recent` recent mentees."""
    # Grows with k, so a flow fills a mentor's cheap arcs first and spreads mentees out.
    return LOAD_STEP * (k - 1 + recent)


# --- the same points for many edges at once (numpy) -------------------------------------------
#
# fit_parts above is the definition; edge_fit_parts computes exactly the same integers for
# arrays of (mentor, mentee) edges, which is what makes 2.5 million candidate edges affordable.
# The weighted rounding uses the same float64 operations in the same order, so it agrees bit
# for bit (a property test checks every edge against fit_parts).

def _vocabulary(*groups: Sequence[Profile], field: str) -> dict[str, int]:
    vocab: dict[str, int] = {}
    for group in groups:
        for profile in group:
            for key in getattr(profile, field):
                if key not in vocab:
                    vocab[key] = len(vocab)
    return vocab


def _bit_words(profiles: Sequence[Profile], keys_of, vocab: dict[str, int]) -> np.ndarray:
    """One row of uint64 words per profile with bit vocab[key] set for each of its keys."""
    words = max(1, (len(vocab) + 63) // 64)
    # Profiles with the same list share one dictionary object: build each mask once.
    masks: dict[int, int] = {}

    def mask_of(keys) -> int:
        found = masks.get(id(keys))
        if found is None:
            found = masks[id(keys)] = sum(1 << vocab[key] for key in keys)
        return found

    flat = [mask_of(keys_of(p)) for p in profiles]
    out = np.zeros((len(profiles), words), dtype=np.uint64)
    for word in range(words):
        out[:, word] = np.fromiter(((m >> (64 * word)) & 0xFFFFFFFFFFFFFFFF for m in flat), dtype=np.uint64,
                                   count=len(flat))
    return out


def _shares_any(a: np.ndarray, b: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """For each k: do rows a[ia[k]] and b[ib[k]] of bit words have a common bit?"""
    if a.shape[1] == 1:  # up to 64 values, the usual case: one word each, no 2-D temporaries
        return (a[:, 0][ia] & b[:, 0][ib]) != 0
    return np.bitwise_and(a[ia], b[ib]).any(axis=1)


def _run_table(profiles: Sequence[Profile], length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded start runs: (starts, ends, count), starts/ends of shape (most runs, people) so that
    one run position of many people is one contiguous row."""
    found = [p.start_runs(length) for p in profiles]
    count = np.array([len(r) for r in found], dtype=np.int32)
    width = max(int(count.max()) if len(count) else 0, 1)
    # Minutes of a week fit in 16 bits: half the memory traffic of int32 in the per-edge passes.
    flat = np.fromiter(chain.from_iterable(chain.from_iterable(found)), dtype=np.int16, count=2 * int(count.sum()))
    owner = np.repeat(np.arange(len(found)), count)
    slot = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    starts = np.zeros((width, len(found)), dtype=np.int16)
    ends = np.zeros_like(starts)
    starts[slot, owner] = flat[0::2]
    ends[slot, owner] = flat[1::2]
    return starts, ends, count


def _usable_minutes_edges(mentor_runs, mentee_runs, em: np.ndarray, er: np.ndarray, length: int) -> np.ndarray:
    """usable_minutes of the common start minutes of each edge, from interval runs.

    Runs within one person never touch, so each non-empty intersection of a mentor run with a
    mentee run is one run of common starts: r starts in a run cover r + length - 1 minutes.
    """
    m_start, m_end, m_count = mentor_runs
    e_start, e_end, e_count = mentee_runs
    usable = np.zeros(len(em), dtype=np.int64)
    if not len(em):
        return usable
    # A stretch across Sunday midnight UTC arrives as two runs, [0, x) and [y, week); the common
    # starts have such a stretch exactly when both people do, and it has one head, not two.
    m_wrap = _wraps(m_start, m_end, m_count)
    e_wrap = _wraps(e_start, e_end, e_count)
    # A padding run is [0, 0): it meets no run, so the padded tables can be used as they are.
    # When people have about as many runs as the most anyone has, that is cheapest: no sorting,
    # splitting or scattering of edges. Otherwise group the edges by run counts.
    if m_start.shape[0] * e_start.shape[0] <= 2 * max(m_count.mean(), 1) * max(e_count.mean(), 1):
        minutes, heads = _common_runs(m_start, m_end, e_start, e_end, er, em)
        heads -= m_wrap[er] & e_wrap[em]
        heads *= length - 1
        heads += minutes
        return heads
    rm, re = m_count[er], e_count[em]
    # Edges grouped by how many runs each side has, so no work goes to padding (a stable sort
    # of 16-bit keys is a radix sort: linear time).
    key = rm.astype(np.int64) * (int(e_count.max()) + 1) + re
    order = np.argsort(key.astype(np.uint16) if key.max() < 65536 else key, kind="stable")
    sorted_key = key[order]
    bounds = np.flatnonzero(sorted_key[1:] != sorted_key[:-1]) + 1
    for group in np.split(order, bounds):
        cm, ce = int(rm[group[0]]), int(re[group[0]])
        if cm == 0 or ce == 0:
            continue  # no feasible start on one side (only with the availability rule relaxed)
        j, i = er[group], em[group]
        minutes, heads = _common_runs(m_start[:cm], m_end[:cm], e_start[:ce], e_end[:ce], j, i)
        usable[group] = minutes + (length - 1) * (heads - (m_wrap[j] & e_wrap[i]))
    return usable


def _common_runs(m_start, m_end, e_start, e_end, j: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For mentor j[k] and mentee i[k], over the given run rows: the common start minutes, and in
    how many runs (pairs of runs that meet)."""
    n = len(j)
    es = [e_start[q][i] for q in range(e_start.shape[0])]
    ee = [e_end[q][i] for q in range(e_start.shape[0])]
    # int16 throughout (a week's minutes fit) and every pass into a reused buffer: this is
    # the innermost loop of scoring, run runs x runs times over every candidate edge.
    minutes = np.zeros(n, dtype=np.int16)
    heads = np.zeros(n, dtype=np.int16)
    common = np.empty(n, dtype=np.int16)
    later = np.empty(n, dtype=np.int16)
    for p in range(m_start.shape[0]):
        ms, me = m_start[p][j], m_end[p][j]
        for q in range(len(es)):
            np.minimum(me, ee[q], out=common)
            np.maximum(ms, es[q], out=later)
            np.subtract(common, later, out=common)
            np.maximum(common, 0, out=common)
            minutes += common
            np.minimum(common, 1, out=common)    # 1 where the two runs meet
            heads += common
    return minutes.astype(np.int64), heads.astype(np.int64)


def _wraps(starts: np.ndarray, ends: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Whose runs include one from minute 0 and one up to the end of the week."""
    last = ends[np.maximum(count - 1, 0), np.arange(len(count))]
    return (count > 0) & (starts[0] == 0) & (last == WEEK_MINUTES)


def edge_fit_parts(
    mentors: Sequence[Profile], mentees: Sequence[Profile], em: np.ndarray, er: np.ndarray, settings: RoundSettings
) -> np.ndarray:
    """fit_parts for every candidate edge (mentee em[k], mentor er[k]; each pair obeys the round's
    hard rules): an int64 array of shape (5, edges), one row per factor in FIT_FACTORS order."""
    parts = np.zeros((len(FIT_FACTORS), len(em)), dtype=np.int64)
    if not len(em):
        return parts
    # needs: the i-th need of the mentee earns NEED_POINTS // (i + 1) when it is a mentor strength
    topics = _vocabulary(mentors, field="strengths")
    strength_words = _bit_words(mentors, lambda p: p.strengths, topics)
    most_needs = max((len(p.needs) for p in mentees), default=0)
    width = max(most_needs, 1)
    # Profiles with the same needs share one tuple (eligibility._folded_needs): look each up once.
    # Keyed by identity, which is safe while `mentees` holds every profile.
    padded: dict[int, list[int]] = {}
    rows = []
    for mentee in mentees:
        row = padded.get(id(mentee.needs))
        if row is None:
            ids = [topics.get(need, -1) for need, _ in mentee.needs]
            row = padded[id(mentee.needs)] = ids + [-1] * (width - len(ids))
        rows.append(row)
    need_ids = np.ascontiguousarray(np.array(rows, dtype=np.int64).reshape(len(mentees), width).T)
    if strength_words.shape[1] == 1:
        # Up to 64 topics (the usual case): a need is met when its bit is in the mentor's word.
        edge_word = strength_words[:, 0][er]
        for position in range(most_needs):
            ids = need_ids[position]
            need_bit = np.where(ids >= 0, np.left_shift(np.uint64(1), np.maximum(ids, 0).astype(np.uint64)), np.uint64(0))
            met = (edge_word & need_bit[em]) != 0
            parts[0] += (NEED_POINTS // (position + 1)) * met
    else:
        edge_words = strength_words[er]
        for position in range(most_needs):
            ids = need_ids[position][em]
            listed = ids >= 0
            word = np.take_along_axis(edge_words, np.where(listed, ids >> 6, 0)[:, None], axis=1)[:, 0]
            met = (word >> np.where(listed, ids & 63, 0).astype(np.uint64)) & np.uint64(1)
            parts[0] += (NEED_POINTS // (position + 1)) * (met.astype(np.int64) & listed)
    # grade band and subject: points when both list one and they share one
    for column, field, points in ((1, "bands", BAND_POINTS), (2, "subjects", SUBJECT_POINTS)):
        if _sharing_is_a_rule(field, settings):
            # Every candidate edge already shares one whenever both list any (rule 3 or same_subject).
            listed = attrgetter(field)
            lists_m = np.fromiter(map(bool, map(listed, mentors)), dtype=bool, count=len(mentors))
            lists_e = np.fromiter(map(bool, map(listed, mentees)), dtype=bool, count=len(mentees))
            parts[column] = points * (lists_m[er] & lists_e[em])
            continue
        vocab = _vocabulary(mentors, mentees, field=field)
        mentor_words = _bit_words(mentors, lambda p, f=field: getattr(p, f), vocab)
        mentee_words = _bit_words(mentees, lambda p, f=field: getattr(p, f), vocab)
        parts[column] = points * _shares_any(mentor_words, mentee_words, er, em)
    # schedule
    length = settings.session_minutes
    usable = _usable_minutes_edges(_run_table(mentors, length), _run_table(mentees, length), em, er, length)
    cap = SCHEDULE_CAP_SESSIONS * length
    parts[3] = SCHEDULE_POINTS * np.minimum(usable, cap) // cap
    # cross site
    if settings.cross_site != "neutral":
        sites: dict[str, int] = {}
        mentor_site = np.array([sites.setdefault(p.site, len(sites)) if p.site else -1 for p in mentors], dtype=np.int64)
        mentee_site = np.array([sites.setdefault(p.site, len(sites)) if p.site else -1 for p in mentees], dtype=np.int64)
        ms, es = mentor_site[er], mentee_site[em]
        differ = (ms >= 0) & (es >= 0) & (ms != es)
        parts[4] = differ * (CROSS_SITE_POINTS if settings.cross_site == "prefer" else -CROSS_SITE_POINTS)
    # the participants' own weights
    if any(p.weights for p in mentors) or any(p.weights for p in mentees):
        mentor_w = _weight_table(mentors)
        mentee_w = _weight_table(mentees)
        multiplier = 0.5 + (mentor_w[:, er] + mentee_w[:, em]) / 2
        scaled = np.floor(parts * multiplier + 0.5).astype(np.int64)
        parts = np.where(parts == 0, 0, scaled)
    return parts


def _sharing_is_a_rule(field: str, settings: RoundSettings) -> bool:
    """Whether candidate edges are known to share a value of `field` when both sides list one."""
    if field == "bands":
        return "grade_band" not in settings.relax
    return "subject" not in settings.relax or "same_subject" in settings.require


def _weight_table(profiles: Sequence[Profile]) -> np.ndarray:
    table = np.full((len(FIT_FACTORS), len(profiles)), DEFAULT_WEIGHT, dtype=np.float64)
    # fit_parts names the weights by factor; FIT_FACTORS orders the columns.
    names = {"needs": 0, "grade_band": 1, "subject": 2, "schedule": 3, "cross_site": 4}
    for row, profile in enumerate(profiles):
        for factor, value in profile.weights.items():
            table[names[factor], row] = float(value)
    return table
