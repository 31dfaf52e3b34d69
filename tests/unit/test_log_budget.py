"""``LogBudget``: at most ``lines`` lines per window, and the next line counts the rest."""

from __future__ import annotations

from types import SimpleNamespace

from rtm_actors.server import log_budget
from rtm_actors.server.log_budget import LogBudget


def test_lines_per_window_and_the_next_line_counts_what_was_not_logged(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(log_budget.time, "monotonic", lambda: clock[0])
    lines: list[dict] = []
    recorder = SimpleNamespace(warning=lambda e, **kw: lines.append({"event": e, **kw}))
    budget = LogBudget(recorder, "refused", lines=2, every=10.0, level="warning", why="full")
    for peer in range(5):
        budget.note(peer=peer)
    assert lines == [
        {"event": "refused", "count": 1, "why": "full", "peer": 0},
        {"event": "refused", "count": 1, "why": "full", "peer": 1},
    ]
    clock[0] += 9.9
    budget.note(peer=5)
    assert len(lines) == 2  # still the same window
    clock[0] += 0.1
    budget.note(peer=6)
    assert lines[-1] == {"event": "refused", "count": 5, "why": "full", "peer": 6}
    assert budget.total == 7
