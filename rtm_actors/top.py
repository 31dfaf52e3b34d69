"""``rtm-actors top``: a live view of a running server's figures, read from ``/metrics``.

A separate, short-lived process (not the server, not the SDK), so plain blocking
HTTP and ``time.sleep`` are fine here. On a terminal the view is redrawn in place;
otherwise (a pipe, a log) each refresh is one plain ``key=value`` line.
"""

from __future__ import annotations

import math
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit

from prometheus_client.parser import text_string_to_metric_families

Labels = frozenset[tuple[str, str]]
SampleKey = tuple[str, Labels]


def metrics_url(url: str) -> str:
    """``/metrics`` on the server of ``url`` (``ws://host:port/rtm``, ``http://...``)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    path = parts.path if parts.path.endswith("/metrics") else "/metrics"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


@dataclass
class Snapshot:
    """One scrape: every sample by (name, labels), and when it was taken."""

    at: float
    samples: dict[SampleKey, float] = field(default_factory=dict)

    def value(self, name: str, **labels: str) -> float:
        """One sample (0 if absent)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def total(self, name: str, **where: str) -> float:
        """The sum of every sample of ``name`` whose labels include ``where``."""
        want = set(where.items())
        return sum(v for (n, labels), v in self.samples.items() if n == name and want <= labels)

    def buckets(self, name: str, **where: str) -> dict[float, float]:
        """A histogram's cumulative buckets (upper bound -> count), summed over labels."""
        want = set(where.items())
        out: dict[float, float] = {}
        for (n, labels), v in self.samples.items():
            if n != f"{name}_bucket" or not want <= labels:
                continue
            bound = float(dict(labels)["le"])
            out[bound] = out.get(bound, 0.0) + v
        return out


def parse(text: str, at: float) -> Snapshot:
    """A snapshot of the Prometheus text format."""
    snapshot = Snapshot(at)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            snapshot.samples[key] = float(sample.value)
    return snapshot


def fetch(url: str, timeout: float = 5.0) -> Snapshot:
    """Scrape ``url`` now."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        text = response.read().decode("utf-8")
    return parse(text, time.monotonic())


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """Estimate quantile ``q`` from cumulative buckets (linear within a bucket)."""
    if not buckets:
        return None
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total <= 0:
        return None
    target = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= target:
            if math.isinf(bound):
                return lower  # past the last finite bound: say at least that
            inside = count - below
            share = (target - below) / inside if inside else 1.0
            return lower + (bound - lower) * share
        lower, below = bound, count
    return lower


def _diff(cur: dict[float, float], prev: dict[float, float] | None) -> dict[float, float]:
    if prev is None:
        return cur
    return {b: v - prev.get(b, 0.0) for b, v in cur.items()}


def figures(cur: Snapshot, prev: Snapshot | None) -> list[tuple[str, str]]:
    """The rows of the view: name and value, rates over the last interval."""
    seconds = (cur.at - prev.at) if prev is not None else 0.0

    def rate(name: str, **where: str) -> str:
        if prev is None or seconds <= 0:
            return "-"
        return f"{(cur.total(name, **where) - prev.total(name, **where)) / seconds:.1f}"

    def ms(q: float, **where: str) -> str:
        now_b = cur.buckets("rtm_request_duration_seconds", **where)
        old_b = prev.buckets("rtm_request_duration_seconds", **where) if prev else None
        value = quantile(q, _diff(now_b, old_b))
        return "-" if value is None else f"{value * 1000:.1f}"

    def count(name: str, **where: str) -> str:
        return f"{cur.total(name, **where):.0f}"

    return [
        ("ready", count("rtm_ready")),
        ("users", count("rtm_users_online")),
        ("channels", count("rtm_channels")),
        ("members", count("rtm_channel_members")),
        ("invitations", count("rtm_invitations_in_flight")),
        ("stored", count("rtm_offline_messages_stored")),
        ("logins", count("rtm_logins_total")),
        ("logins/s", rate("rtm_logins_total")),
        ("in/s", rate("rtm_messages_in_total")),
        ("out/s", rate("rtm_messages_out_total")),
        ("peer/s", rate("rtm_peer_messages_total")),
        ("deliveries/s", rate("rtm_deliveries_total")),
        ("errors", count("rtm_errors_total")),
        ("slow", count("rtm_slow_consumers_total")),
        ("crashes", count("rtm_actor_crashes_total")),
        ("p50_ms", ms(0.5)),
        ("p99_ms", ms(0.99)),
        ("peer_p99_ms", ms(0.99, kind="send_peer")),
    ]


def render_line(rows: Iterable[tuple[str, str]]) -> str:
    """One refresh as a plain line (for pipes and logs)."""
    stamp = time.strftime("%H:%M:%S")
    return stamp + " " + " ".join(f"{name}={value}" for name, value in rows)


def render_screen(rows: list[tuple[str, str]], url: str) -> str:
    """One refresh as a screen: cleared, then one figure per line."""
    width = max(len(name) for name, _ in rows)
    lines = [f"rtm-actors top - {url} - {time.strftime('%H:%M:%S')}", ""]
    lines += [f"  {name:<{width}}  {value:>12}" for name, value in rows]
    return "\x1b[H\x1b[2J" + "\n".join(lines) + "\n"


def run(
    url: str, interval: float = 1.0, count: int | None = None, out: TextIO | None = None
) -> int:
    """Show the figures every ``interval`` s, ``count`` times (forever if None).

    Returns 0 if the last scrape worked, else 1.
    """
    stream = out if out is not None else sys.stdout
    target = metrics_url(url)
    tty = stream.isatty()
    prev: Snapshot | None = None
    ok = False
    done = 0
    while count is None or done < count:
        if done:
            time.sleep(interval)
        done += 1
        try:
            cur = fetch(target)
        except (OSError, urllib.error.URLError, ValueError) as exc:
            stream.write(f"{time.strftime('%H:%M:%S')} {target} unreachable: {exc}\n")
            stream.flush()
            ok = False
            continue
        rows = figures(cur, prev)
        stream.write(render_screen(rows, target) if tty else render_line(rows) + "\n")
        stream.flush()
        prev, ok = cur, True
    return 0 if ok else 1
