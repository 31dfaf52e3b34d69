"""The terminal summary table and the ``--json`` file of a finished run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rtm_actors.loadtest.runner import LoadResult

_COLUMNS = ("p50", "p90", "p99", "p99.9", "max")
#: A median schedule lag above this many ms means the load process is the bottleneck.
LAG_WARNING_MS = 100.0


def _ms(value: object) -> str:
    if not isinstance(value, int | float):
        return "-"
    return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"


def _latency_rows(name: str, figures: dict[str, Any]) -> str:
    if not figures.get("count"):
        return f"  {name:<16} {0:>10,}" + "".join(f" {'-':>9}" for _ in ("min", *_COLUMNS))
    cells = "".join(f" {_ms(figures.get(c)):>9}" for c in ("min", *_COLUMNS))
    return f"  {name:<16} {figures['count']:>10,}{cells}"


def _per_delivery(us: float | None, ratio: float | None) -> str:
    if not us:
        return ""
    return f", {us:,.0f} us per delivery" + (f" ({ratio:.2f}x the server's)" if ratio else "")


def format_summary(result: LoadResult) -> str:
    """The summary table printed when a run ends."""
    o = result.options
    s = result.summary()
    server = s["server"]
    lines = [
        f"rtm-actors loadtest: {o.user_class or o.scenario}, {s['users']:,} users"
        f" ({s['logged_in']:,} logged in), {o.workers} worker(s),"
        f" {o.duration:g} s at {o.rate:g}/s per user, seed {o.seed}",
    ]
    where = "embedded " if server["embedded"] else ""
    detail = ""
    if server["embedded"]:
        rss = (server["rss_kib"] or 0) / 1024
        per = server["cpu_us_per_delivery"]
        detail = (
            f" (CPU {server['cpu_s_traffic']:.2f} s during traffic"
            + (f", {per:,.0f} us per delivery" if per else "")
            + f", RSS {rss:,.0f} MiB)"
        )
    lines.append(f"server: {where}{server['url']}{detail}")
    lines.append("")
    lines.append(
        f"  messages     sent {s['sent']:,} ({s['sent_per_s']:,.0f}/s)  acked {s['acked']:,}"
        f"  delivered {s['delivered']:,} ({s['delivered_per_s']:,.0f}/s)"
    )
    lines.append(
        f"  losses       {s['lost']:,} of {s['expected']:,} expected deliveries"
        f" ({s['loss_ratio']:.4%})  duplicates {s['duplicates']:,}"
        f"  out of order {s['out_of_order']:,}"
    )
    errors = ", ".join(f"{k} {v:,}" for k, v in s["errors_by_code"].items())
    lines.append(f"  errors       {s['errors']:,}" + (f"  ({errors})" if errors else ""))
    lines.append("")
    header = "".join(f" {c:>9}" for c in ("min", *_COLUMNS))
    lines.append(f"  {'times in ms':<16} {'count':>10}{header}")
    lines.append(_latency_rows("end-to-end", s["latency_ms"]))
    for kind, figures in s["latency_ms_by_kind"].items():
        lines.append(_latency_rows(f"  {kind}", figures))
    for op, figures in s["ops_ms"].items():
        lines.append(_latency_rows(op, figures))
    lines.append("")
    changes = ", ".join(f"{k} {v:,}" for k, v in s["state_changes"].items())
    lines.append(f"  connection   {changes or '-'}")
    per_user = s["client_kib_per_user"]
    memory = f"{per_user:,.1f} KiB per logged-in user" if per_user else "-"
    lines.append(
        f"  client       {memory}, RSS {s['client_rss_kib'] / 1024:,.0f} MiB,"
        f" CPU {s['client_cpu_s_traffic']:.2f} s during traffic"
        + _per_delivery(s.get("client_cpu_us_per_delivery"), s.get("client_server_cpu_ratio"))
        + (", message cap reached" if s["capped"] else "")
    )
    lagging = generator_warning(s)
    if lagging:
        lines.append(f"  WARNING      {lagging}")
    failures = result.failures()
    lines.append("")
    lines.append("  result       " + ("OK" if not failures else "FAILED: " + "; ".join(failures)))
    return "\n".join(lines)


def generator_warning(summary: dict[str, Any]) -> str | None:
    """A warning when the load process could not keep to the plan (then the latency
    measured is mostly the load generator's own backlog, not the server's)."""
    counters = summary["counters"]
    planned, done = counters.get("actions_planned", 0), counters.get("actions_done", 0)
    lag = summary["ops_ms"].get("schedule_lag", {}).get("p50", 0.0)
    if (planned and done < planned) or lag > LAG_WARNING_MS:
        return (
            f"the load generator fell behind (schedule lag p50 {lag:,.0f} ms,"
            f" {done:,} of {planned:,} planned actions run): the latency includes the"
            " load process's own backlog; add --workers or lower --users / --rate"
        )
    return None


def write_json(result: LoadResult, path: str | Path) -> None:
    """Write every figure of the run to ``path`` as JSON."""
    Path(path).write_text(json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n")
