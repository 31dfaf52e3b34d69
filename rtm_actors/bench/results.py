"""The benchmark's results: rows side by side, ratios, the issue's targets, the table."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from rtm_actors.bench.servers import SYSTEMS


@dataclass
class Row:
    """One metric of one workload, for every system (None: not measured)."""

    workload: str
    metric: str
    values: dict[str, float | None] = field(default_factory=dict)

    def ratio(self, other: str) -> float | None:
        """ours / ``other`` (None when either is missing or ``other`` is zero)."""
        ours, theirs = self.values.get("ours"), self.values.get(other)
        if ours is None or not theirs:
            return None
        return ours / theirs

    def to_json(self) -> dict[str, Any]:
        """The row as the ``--json`` file has it."""
        return {
            "workload": self.workload,
            "metric": self.metric,
            "ours": self.values.get("ours"),
            "ceiling": self.values.get("ceiling"),
            "socketio": self.values.get("socketio"),
            "ratio_to_ceiling": self.ratio("ceiling"),
            "ratio_to_socketio": self.ratio("socketio"),
        }


@dataclass(frozen=True)
class Target:
    """One of the issue's speed goals, checked against a run's rows."""

    name: str
    workload: str
    metric: str
    check: Callable[[Row], float | None]
    goal: str
    threshold: float
    #: True: met when the value is at least ``threshold``; False: at most.
    at_least: bool = True

    def evaluate(self, rows: Iterable[Row]) -> dict[str, Any] | None:
        """The target's value and verdict, or None if the run lacks the row."""
        row = next(
            (r for r in rows if r.workload == self.workload and r.metric == self.metric), None
        )
        if row is None:
            return None
        value = self.check(row)
        met = (
            None
            if value is None
            else (value >= self.threshold if self.at_least else value <= self.threshold)
        )
        return {"target": self.name, "goal": self.goal, "value": value, "met": met}


def _p99_vs_ceiling(row: Row) -> float | None:
    return row.ratio("ceiling")


def _ours(row: Row) -> float | None:
    return row.values.get("ours")


def targets() -> list[Target]:
    """The goals we hold the server to, for every workload size they apply to."""
    out: list[Target] = []
    for users in (100, 1000):
        w = f"peer-{users}"
        rate = "delivered msg/s (full load)"
        out += [
            Target(f"{w} vs socketio", w, rate, lambda r: r.ratio("socketio"), ">= 3x", 3.0),
            Target(f"{w} vs ceiling", w, rate, lambda r: r.ratio("ceiling"), ">= 0.6x", 0.6),
            Target(
                f"{w} p99 at half load",
                w,
                "p99 ms (half load)",
                _p99_vs_ceiling,
                "<= 2x ceiling's",
                2.0,
                at_least=False,
            ),
        ]
    out += [
        Target(
            "fanout-1000 vs ceiling",
            "fanout-1000",
            "deliveries/s",
            lambda r: r.ratio("ceiling"),
            ">= 0.7x",
            0.7,
        ),
        Target(
            "idle memory per user",
            "idle-5000",
            "server KB per user",
            _ours,
            "<= 40 KB",
            40.0,
            at_least=False,
        ),
        Target(
            "login vs socketio",
            "login-2000",
            "logins/s",
            lambda r: r.ratio("socketio"),
            ">= 2x",
            2.0,
        ),
    ]
    return out


@dataclass
class Report:
    """A whole run: rows in order, per-run details, the machine."""

    rows: list[Row] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)

    def add(self, workload: str, system: str, metrics: dict[str, float]) -> None:
        """Record ``system``'s figures for ``workload``."""
        for metric, value in metrics.items():
            row = next(
                (r for r in self.rows if r.workload == workload and r.metric == metric), None
            )
            if row is None:
                row = Row(workload, metric)
                self.rows.append(row)
            row.values[system] = value

    def verdicts(self) -> list[dict[str, Any]]:
        """Every target the run has the figures for."""
        return [v for t in targets() if (v := t.evaluate(self.rows)) is not None]

    def to_json(self) -> dict[str, Any]:
        """What ``--json`` writes."""
        return {
            "results": [r.to_json() for r in self.rows],
            "targets": self.verdicts(),
            "details": self.details,
            "machine": self.machine,
        }


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def table(report: Report) -> str:
    """The run as a Markdown table (readable as plain text too), then the targets."""
    head = ["workload", "metric", *SYSTEMS, "ours/ceiling", "ours/socketio"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in report.rows:
        cells = [row.workload, row.metric]
        cells += [_fmt(row.values.get(s)) for s in SYSTEMS]
        cells += [_ratio(row.ratio("ceiling")), _ratio(row.ratio("socketio"))]
        lines.append("| " + " | ".join(cells) + " |")
    verdicts = report.verdicts()
    if verdicts:
        lines += ["", "| target | goal | value | met |", "|---|---|---|---|"]
        for v in verdicts:
            met = {True: "yes", False: "NO", None: "-"}[v["met"]]
            value = "-" if v["value"] is None else _fmt(v["value"])
            lines.append(f"| {v['target']} | {v['goal']} | {value} | {met} |")
    return "\n".join(lines) + "\n"


def detail(workload: str, system: str, seconds: float, outcome: Any) -> dict[str, Any]:
    """One system's run of one workload, for the JSON's ``details``."""
    return {
        "workload": workload,
        "system": system,
        "seconds": round(seconds, 2),
        "tally": None if outcome.tally is None else asdict(outcome.tally),
        "errors": outcome.errors,
    }
