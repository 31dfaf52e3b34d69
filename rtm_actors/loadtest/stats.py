"""What a load test measures: HDR latency histograms, counters, message streams.

Pure: no clock and no IO; the caller passes every time (wall-clock seconds, one host).
A ``Stats`` is filled by one process, written as JSON, and merged with the others'.

Every message carries ``sender/seq/intended_us/`` at the start of its text
(``stamp``), so the receiver measures latency from the *intended* send time: when
the system falls behind, the queueing shows in the latency instead of slowing the
senders down (coordinated omission). Sequence numbers count per stream (one sender
to one peer, channel or callee), so the receiver tells duplicates and out-of-order
deliveries apart, and the merged acknowledged and delivered sets give the losses.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

#: Histograms count microseconds, from 1 us up to an hour.
MAX_US = 3_600_000_000
#: Significant digits: the run's histograms, and the per-second ones.
DIGITS = 3
SERIES_DIGITS = 2
PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)

#: Stream kinds: peer message, channel message, call invitation.
PEER_STREAM = "p"
CHANNEL_STREAM = "c"
INVITE_STREAM = "i"


def new_histogram(digits: int = DIGITS) -> Any:
    """An empty HDR histogram of microseconds (1 us to 1 h)."""
    return HdrHistogram(1, MAX_US, digits)


def to_us(seconds: float) -> int:
    """A duration in seconds as the microseconds a histogram counts (1 us to 1 h)."""
    us = round(seconds * 1e6)
    return us if 0 < us <= MAX_US else min(MAX_US, max(1, us))


def record_seconds(histogram: Any, seconds: float) -> None:
    """Record a duration in seconds, clamped into the histogram's range."""
    histogram.record_value(to_us(seconds))


def record_all(values: list[int], *histograms: Any) -> None:
    """Record every one of ``values`` (us, within range) in each of ``histograms`` (all
    of one shape): as ``record_value`` one by one would, to the same counts, total, min
    and max, at a fifth of the cost. The bucket arithmetic of ``hdrh`` runs inline once
    per value for all the histograms, and each counter is bumped once per bucket
    (hdrhistogram is pinned below 0.11: a unit test checks this against it)."""
    if not values:
        return
    shape = histograms[0]
    unit = shape.unit_magnitude
    half = shape.sub_bucket_half_count_magnitude
    mask = shape.sub_bucket_mask
    top = half + 1 + unit
    first = shape.sub_bucket_half_count
    buckets = Counter(
        ((b + 1) << half) + (v >> (b + unit)) - first
        for v in values
        for b in ((v | mask).bit_length() - top,)
    ).items()
    total, low, high = len(values), min(values), max(values)
    for histogram in histograms:
        counts = histogram.counts
        for index, n in buckets:
            counts[index] += n
        histogram.total_count += total
        histogram.min_value = min(histogram.min_value, low)
        histogram.max_value = max(histogram.max_value, high)


def error_name(code: object) -> str:
    """An Agora code as ``Family.NAME`` (``PeerMessageErrCode.PEER_UNREACHABLE``)."""
    if isinstance(code, IntEnum):
        return f"{type(code).__name__}.{code.name}"
    return str(code)


# -- message stamps -------------------------------------------------------------------


def stamp(sender: str, seq: int, intended: float, size: int = 0) -> str:
    """The text of a load message: sender, sequence number, intended send time (us),
    padded with ``.`` to ``size`` characters."""
    text = f"{sender}/{seq}/{round(intended * 1e6)}/"
    return text + "." * (size - len(text)) if size > len(text) else text


def parse_stamp(text: str) -> tuple[str, int, float] | None:
    """``(sender, seq, intended)`` from a stamped text, or None if it is not one."""
    parts = text.split("/", 3)
    if len(parts) != 4:
        return None
    try:
        return parts[0], int(parts[1]), int(parts[2]) / 1e6
    except ValueError:
        return None


def stream_key(kind: str, sender: str, target: str) -> str:
    """The key of one stream; ``/`` never appears in Agora ids."""
    return f"{kind}/{sender}/{target}"


def member_key(stream: str, member: str) -> str:
    """Where one channel member's deliveries of a channel stream are counted."""
    return f"{stream}/{member}"


# -- integer sets as sorted intervals -----------------------------------------------


class IntervalSet:
    """A set of integers kept as sorted, disjoint, inclusive intervals.

    Sequence numbers arrive mostly in order, so a stream of thousands of messages
    is one or a few intervals: cheap to keep, to send as JSON and to compare.
    """

    __slots__ = ("_ends", "_starts")

    def __init__(self, intervals: Iterable[Iterable[int]] = ()) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        pairs = [(int(lo), int(hi)) for lo, hi in intervals]
        if pairs:
            self._normalise(pairs)

    def _normalise(self, pairs: list[tuple[int, int]]) -> None:
        starts: list[int] = []
        ends: list[int] = []
        for lo, hi in sorted(pairs):
            if ends and lo <= ends[-1] + 1:
                ends[-1] = max(ends[-1], hi)
            else:
                starts.append(lo)
                ends.append(hi)
        self._starts, self._ends = starts, ends

    def add(self, value: int) -> bool:
        """Add ``value``; answer False if it was already there."""
        starts, ends = self._starts, self._ends
        if ends and value == ends[-1] + 1:  # the usual case: the next one in order
            ends[-1] = value
            return True
        i = bisect.bisect_right(starts, value) - 1
        if i >= 0 and value <= ends[i]:
            return False
        joins_left = i >= 0 and ends[i] == value - 1
        joins_right = i + 1 < len(starts) and starts[i + 1] == value + 1
        if joins_left and joins_right:
            ends[i] = ends[i + 1]
            del starts[i + 1], ends[i + 1]
        elif joins_left:
            ends[i] = value
        elif joins_right:
            starts[i + 1] = value
        else:
            starts.insert(i + 1, value)
            ends.insert(i + 1, value)
        return True

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int):
            return False
        i = bisect.bisect_right(self._starts, value) - 1
        return i >= 0 and value <= self._ends[i]

    def __len__(self) -> int:
        return sum(hi - lo + 1 for lo, hi in zip(self._starts, self._ends, strict=True))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IntervalSet) and self.intervals() == other.intervals()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"IntervalSet({self.intervals()!r})"

    def intervals(self) -> list[list[int]]:
        """``[[lo, hi], ...]``, sorted (the JSON form)."""
        return [[lo, hi] for lo, hi in zip(self._starts, self._ends, strict=True)]

    def bounds(self) -> tuple[int, int] | None:
        """Smallest and largest member, or None when empty."""
        return (self._starts[0], self._ends[-1]) if self._starts else None

    def update(self, other: IntervalSet) -> None:
        """Add every member of ``other``."""
        self._normalise(
            [
                *zip(self._starts, self._ends, strict=True),
                *zip(other._starts, other._ends, strict=True),
            ]
        )

    def count_within(self, lo: int, hi: int) -> int:
        """How many members lie in ``[lo, hi]``."""
        return sum(
            max(0, min(hi, e) - max(lo, s) + 1)
            for s, e in zip(self._starts, self._ends, strict=True)
        )

    def common(self, other: IntervalSet) -> int:
        """How many members the two sets share."""
        a = list(zip(self._starts, self._ends, strict=True))
        b = list(zip(other._starts, other._ends, strict=True))
        i = j = total = 0
        while i < len(a) and j < len(b):
            lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
            if lo <= hi:
                total += hi - lo + 1
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return total


# -- the measurements -----------------------------------------------------------------


@dataclass
class Second:
    """One second of the run's time series."""

    sent: int = 0
    acked: int = 0
    delivered: int = 0
    errors: int = 0
    latency: Any = field(default_factory=lambda: new_histogram(SERIES_DIGITS))


#: Durations of an operation wait in a list until there are this many, then go into its
#: histogram in one ``record_all``.
OP_BATCH = 1024


class Stats:
    """Everything measured in one process (or merged from many).

    Times are wall-clock seconds; ``origin`` is the run's time zero, shared by every
    process, so per-second series line up when merged.

    A delivery's latency goes into three histograms (the run's, its kind's, its
    second's). One ``record_value`` each was ~7% of the load process's CPU, so
    latencies wait in plain lists (microseconds, by kind, for the current second) and
    go in by ``record_all`` when the second changes or a histogram is read: the same
    histograms, a fraction of the work. Operation durations likewise, by name.
    """

    def __init__(self, origin: float = 0.0) -> None:
        self.origin = origin
        self._latency = new_histogram()
        self._latency_by_kind: dict[str, Any] = {}
        self._ops: dict[str, Any] = {}
        self.sent = 0
        self.acked = 0
        self.delivered = 0
        self.duplicates = 0
        self.out_of_order = 0
        #: Failures by Agora code name (or exception class).
        self.errors: Counter[str] = Counter()
        #: Connection state changes by ``STATE/REASON``.
        self.state_changes: Counter[str] = Counter()
        #: Other counts (logins, presence events, invitations accepted, ...).
        self.counters: Counter[str] = Counter()
        #: Phase times (seconds since origin): logins_done, go, end, ...
        self.marks: dict[str, float] = {}
        self._series: dict[int, Second] = {}
        #: The second recorded into last (its index and row), and its deliveries'
        #: latencies by kind of stream, not yet in the histograms.
        self._index: int | None = None
        self._current = Second()
        self._pending: dict[str, list[int]] = {}
        #: Operation name -> durations (us) not yet in its histogram.
        self._pending_ops: dict[str, list[int]] = {}
        #: Per second: users in each connection state (one sample per process).
        self.states: dict[int, Counter[str]] = {}
        #: This process's users in each connection state now, as their callbacks tell
        #: it (the per-second sample; asking 8,000 users each second cost ~1 us each).
        self.live_states: Counter[str] = Counter()
        #: Stream key -> sequence numbers the sender had acknowledged.
        self.acked_seqs: dict[str, IntervalSet] = {}
        #: Stream (or channel-member) key -> sequence numbers delivered.
        self.delivered_seqs: dict[str, IntervalSet] = {}
        self._highest: dict[str, int] = {}
        #: Channel -> member -> whether it was a member for the whole traffic phase.
        self.members: dict[str, dict[str, bool]] = {}

    # -- the histograms, with every pending latency in them ----------------------------

    @property
    def latency(self) -> Any:
        """End-to-end latency of every first delivery (HDR, us)."""
        self._settle()
        return self._latency

    @latency.setter
    def latency(self, histogram: Any) -> None:
        self._settle()
        self._latency = histogram

    @property
    def latency_by_kind(self) -> dict[str, Any]:
        """The same, per kind of stream (``PEER_STREAM``...)."""
        self._settle()
        return self._latency_by_kind

    @latency_by_kind.setter
    def latency_by_kind(self, histograms: dict[str, Any]) -> None:
        self._settle()
        self._latency_by_kind = histograms

    @property
    def ops(self) -> dict[str, Any]:
        """Durations of operations: login, relogin, reconnect, query, join, invite..."""
        self._settle()
        return self._ops

    @ops.setter
    def ops(self, histograms: dict[str, Any]) -> None:
        self._settle()
        self._ops = histograms

    @property
    def series(self) -> dict[int, Second]:
        """Second (since ``origin``) -> its counts and latencies."""
        self._settle()
        return self._series

    @series.setter
    def series(self, rows: dict[int, Second]) -> None:
        self._settle()
        self._series = rows
        self._index = None

    def _settle(self) -> None:
        """Put every pending latency and duration into its histograms."""
        if self._pending:
            second = self._current
            for kind, values in self._pending.items():
                by_kind = self._latency_by_kind.get(kind)
                if by_kind is None:
                    by_kind = self._latency_by_kind[kind] = new_histogram()
                record_all(values, by_kind, self._latency)
                record_all(values, second.latency)
            self._pending = {}
        if self._pending_ops:
            for name in self._pending_ops:
                self._settle_op(name)
            self._pending_ops = {}

    def _settle_op(self, name: str) -> None:
        histogram = self._ops.get(name)
        if histogram is None:
            histogram = self._ops[name] = new_histogram()
        values = self._pending_ops[name]
        record_all(values, histogram)
        values.clear()

    # -- recording -----------------------------------------------------------------

    def _second(self, now: float) -> Second:
        index = int(now - self.origin)
        if index == self._index:
            return self._current
        # A new second: the last one's pending latencies are its own.
        self._settle()
        index = max(0, index)
        second = self._series.get(index)
        if second is None:
            second = self._series[index] = Second()
        self._index, self._current = index, second
        return second

    def record_sent(self, now: float) -> None:
        """A message (or invitation) was handed to the SDK."""
        self.sent += 1
        self._second(now).sent += 1

    def record_acked(self, stream: str, seq: int, now: float) -> None:
        """The sender was told the message arrived (peer: receiver's SDK has it;
        channel: the server took it; invitation: the callee's SDK has it)."""
        seqs = self.acked_seqs.get(stream)
        if seqs is None:
            seqs = self.acked_seqs[stream] = IntervalSet()
        if seqs.add(seq):
            self.acked += 1
            self._second(now).acked += 1

    def record_error(self, name: str, now: float) -> None:
        """Something failed with code ``name`` (see ``error_name``)."""
        self.errors[name] += 1
        self._second(now).errors += 1

    def record_delivered(self, key: str, seq: int, intended: float, now: float) -> bool:
        """A receiver's callback got message ``seq`` of ``key``; answer whether it is new.

        A repeat counts as a duplicate (and its latency is not recorded again); a
        message older than the newest one of its stream counts as out of order.
        """
        seqs = self.delivered_seqs.get(key)
        if seqs is None:
            seqs = self.delivered_seqs[key] = IntervalSet()
        if not seqs.add(seq):
            self.duplicates += 1
            return False
        highest = self._highest.get(key, 0)
        if seq < highest:
            self.out_of_order += 1
        else:
            self._highest[key] = seq
        self.delivered += 1
        self._second(now).delivered += 1
        kind = key.split("/", 1)[0]
        pending = self._pending.get(kind)
        if pending is None:
            pending = self._pending[kind] = []
        pending.append(to_us(now - intended))
        return True

    def record_op(self, name: str, seconds: float) -> None:
        """An operation (``login``, ``query``, ``join``...) took ``seconds``."""
        pending = self._pending_ops.get(name)
        if pending is None:
            pending = self._pending_ops[name] = []
        pending.append(to_us(seconds))
        if len(pending) >= OP_BATCH:
            self._settle_op(name)

    def record_state(self, state: str, reason: str) -> None:
        """A user's connection state changed."""
        self.state_changes[f"{state}/{reason}"] += 1

    def sample_states(self, now: float, counts: Mapping[str, int]) -> None:
        """How many of this process's users are in each state now (the first sample of
        a second stands for it)."""
        self.states.setdefault(max(0, int(now - self.origin)), Counter(counts))

    def record_member(self, channel: str, member: str, *, full: bool) -> None:
        """``member`` was in ``channel`` (``full``: for the whole traffic phase)."""
        self.members.setdefault(channel, {})[member] = full

    def mark(self, name: str, now: float) -> None:
        """Note when a phase happened (merged: the latest of all processes)."""
        self.marks[name] = max(self.marks.get(name, 0.0), now - self.origin)

    # -- derived figures -----------------------------------------------------------

    def losses(self) -> tuple[int, int]:
        """``(expected deliveries, lost)`` of acknowledged messages.

        A peer message or invitation is expected once at its receiver; a channel
        message at every other member. A member that was not there for the whole
        traffic phase is only held to the messages between the first and the last one
        it got (the gaps).
        """
        expected = lost = 0
        empty = IntervalSet()
        for key, acked in self.acked_seqs.items():
            kind, sender, target = key.split("/", 2)
            if kind != CHANNEL_STREAM:
                got = self.delivered_seqs.get(key, empty)
                n = len(acked)
                expected += n
                lost += n - acked.common(got)
                continue
            for member, full in self.members.get(target, {}).items():
                if member == sender:
                    continue
                got = self.delivered_seqs.get(member_key(key, member), empty)
                if full:
                    n = len(acked)
                else:
                    bounds = got.bounds()
                    if bounds is None:
                        continue
                    n = acked.count_within(*bounds)
                expected += n
                lost += n - acked.common(got)
        return expected, lost

    def summary(self) -> dict[str, Any]:
        """Every headline figure, JSON-ready (latencies in milliseconds)."""
        expected, lost = self.losses()
        go, end = self.marks.get("go", 0.0), self.marks.get("end", 0.0)
        traffic = max(end - go, 1e-9)
        return {
            "sent": self.sent,
            "acked": self.acked,
            "delivered": self.delivered,
            "expected": expected,
            "lost": lost,
            "loss_ratio": lost / expected if expected else 0.0,
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "errors": sum(self.errors.values()),
            "errors_by_code": dict(sorted(self.errors.items())),
            "sent_per_s": self.sent / traffic if end > go else 0.0,
            "delivered_per_s": self.delivered / traffic if end > go else 0.0,
            "latency_ms": histogram_summary(self.latency),
            "latency_ms_by_kind": {
                _KIND_NAMES.get(k, k): histogram_summary(h)
                for k, h in sorted(self.latency_by_kind.items())
            },
            "ops_ms": {name: histogram_summary(h) for name, h in sorted(self.ops.items())},
            "state_changes": dict(sorted(self.state_changes.items())),
            "counters": dict(sorted(self.counters.items())),
            "marks": dict(sorted(self.marks.items())),
        }

    def series_rows(self) -> list[dict[str, Any]]:
        """The per-second time series, one row per second (latencies in ms)."""
        last = max([*self.series, *self.states], default=-1)
        rows = []
        for t in range(last + 1):
            second = self.series.get(t) or Second()
            count = second.latency.get_total_count()
            row: dict[str, Any] = {
                "t": t,
                "sent": second.sent,
                "acked": second.acked,
                "delivered": second.delivered,
                "errors": second.errors,
                "states": dict(sorted(self.states.get(t, Counter()).items())),
            }
            for p in (50.0, 99.0, 100.0):
                key = "max" if p == 100.0 else f"p{p:g}"
                row[f"{key}_ms"] = (
                    second.latency.get_value_at_percentile(p) / 1000 if count else None
                )
            rows.append(row)
        return rows

    # -- merging and JSON ----------------------------------------------------------

    def merge(self, other: Stats) -> None:
        """Add ``other``'s measurements (another process of the same run) to these."""
        self.latency.add(other.latency)
        _merge_histograms(self.latency_by_kind, other.latency_by_kind)
        _merge_histograms(self.ops, other.ops)
        self.sent += other.sent
        self.acked += other.acked
        self.delivered += other.delivered
        self.duplicates += other.duplicates
        self.out_of_order += other.out_of_order
        self.errors.update(other.errors)
        self.state_changes.update(other.state_changes)
        self.counters.update(other.counters)
        for name, t in other.marks.items():
            self.marks[name] = max(self.marks.get(name, 0.0), t)
        for t, theirs in other.series.items():
            mine = self.series.get(t)
            if mine is None:
                mine = self.series[t] = Second()
            mine.sent += theirs.sent
            mine.acked += theirs.acked
            mine.delivered += theirs.delivered
            mine.errors += theirs.errors
            mine.latency.add(theirs.latency)
        for t, counts in other.states.items():
            self.states.setdefault(t, Counter()).update(counts)
        for target, theirs_sets in (
            (self.acked_seqs, other.acked_seqs),
            (self.delivered_seqs, other.delivered_seqs),
        ):
            for key, seqs in theirs_sets.items():
                target.setdefault(key, IntervalSet()).update(seqs)
        for key, highest in other._highest.items():
            self._highest[key] = max(self._highest.get(key, 0), highest)
        for channel, members in other.members.items():
            mine_members = self.members.setdefault(channel, {})
            for member, full in members.items():
                mine_members[member] = mine_members.get(member, True) and full

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (histograms in HDR's compressed base64 form)."""
        return {
            "origin": self.origin,
            "latency": _encode(self.latency),
            "latency_by_kind": {k: _encode(h) for k, h in self.latency_by_kind.items()},
            "ops": {k: _encode(h) for k, h in self.ops.items()},
            "sent": self.sent,
            "acked": self.acked,
            "delivered": self.delivered,
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "errors": dict(self.errors),
            "state_changes": dict(self.state_changes),
            "counters": dict(self.counters),
            "marks": dict(self.marks),
            "series": {
                str(t): [s.sent, s.acked, s.delivered, s.errors, _encode(s.latency)]
                for t, s in self.series.items()
            },
            "states": {str(t): dict(c) for t, c in self.states.items()},
            "acked_seqs": {k: v.intervals() for k, v in self.acked_seqs.items()},
            "delivered_seqs": {k: v.intervals() for k, v in self.delivered_seqs.items()},
            "highest": dict(self._highest),
            "members": self.members,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Stats:
        """The inverse of ``to_dict``."""
        stats = cls(float(data["origin"]))
        stats.latency = _decode(data["latency"])
        stats.latency_by_kind = {k: _decode(v) for k, v in data["latency_by_kind"].items()}
        stats.ops = {k: _decode(v) for k, v in data["ops"].items()}
        stats.sent, stats.acked = data["sent"], data["acked"]
        stats.delivered, stats.duplicates = data["delivered"], data["duplicates"]
        stats.out_of_order = data["out_of_order"]
        stats.errors = Counter(data["errors"])
        stats.state_changes = Counter(data["state_changes"])
        stats.counters = Counter(data["counters"])
        stats.marks = dict(data["marks"])
        for t, (sent, acked, delivered, errors, hist) in data["series"].items():
            stats.series[int(t)] = Second(sent, acked, delivered, errors, _decode(hist))
        stats.states = {int(t): Counter(c) for t, c in data["states"].items()}
        stats.acked_seqs = {k: IntervalSet(v) for k, v in data["acked_seqs"].items()}
        stats.delivered_seqs = {k: IntervalSet(v) for k, v in data["delivered_seqs"].items()}
        stats._highest = dict(data["highest"])
        stats.members = {c: dict(m) for c, m in data["members"].items()}
        return stats


_KIND_NAMES = {PEER_STREAM: "peer", CHANNEL_STREAM: "channel", INVITE_STREAM: "invite"}


def histogram_summary(histogram: Any) -> dict[str, float | int]:
    """Count, min, mean, percentiles and max of a histogram, in milliseconds."""
    count = int(histogram.get_total_count())
    if not count:
        return {"count": 0}
    result: dict[str, float | int] = {
        "count": count,
        "min": histogram.get_min_value() / 1000,
        "mean": histogram.get_mean_value() / 1000,
    }
    for p in PERCENTILES:
        result[f"p{p:g}"] = histogram.get_value_at_percentile(p) / 1000
    result["max"] = histogram.get_max_value() / 1000
    return result


def percentile_spectrum(histogram: Any) -> list[tuple[float, float]]:
    """``(percentile, ms)`` points for an HDR percentile plot (0 to 99.999...)."""
    if not histogram.get_total_count():
        return []
    points: list[tuple[float, float]] = []
    for item in histogram.get_percentile_iterator(5):
        points.append((item.percentile_level_iterated_to, item.value_iterated_to / 1000))
        if item.percentile_level_iterated_to >= 100.0:
            break
    return points


def _merge_histograms(mine: dict[str, Any], theirs: Mapping[str, Any]) -> None:
    for name, histogram in theirs.items():
        if name in mine:
            mine[name].add(histogram)
        else:
            copy = new_histogram(histogram.significant_figures)
            copy.add(histogram)
            mine[name] = copy


def _encode(histogram: Any) -> str:
    return str(histogram.encode().decode("ascii"))


def _decode(text: str) -> Any:
    return HdrHistogram.decode(text.encode("ascii"))
