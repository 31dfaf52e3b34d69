"""The SDK as the load: our server's peer workload driven by real ``RtmService`` users,
beside the same workload driven by the lean bench client (the load's ceiling).

Both phases run the closed loop of ``peer`` (each user keeps a few messages awaiting
their receipts) against the same server process, the lean client first, then the SDK
under other user ids. The load process is pinned to its own core, so its CPU per
delivered message is what one client stack costs: the row that compares the two is
``SDK/lean load CPU per msg``.
"""

from __future__ import annotations

from dataclasses import fields
from functools import partial

from rtm_actors.bench import peer
from rtm_actors.bench.common import Settings, WorkloadOutcome
from rtm_actors.bench.ledger import BitLedgerTotals
from rtm_actors.bench.sdk_client import SdkLoadClient
from rtm_actors.bench.servers import BenchServer
from rtm_actors.client.service import AgoraService
from rtm_actors.loadtest.options import LoadOptions
from rtm_actors.loadtest.worker import client_config

#: The metric that says how the SDK's load CPU per message compares with the lean client's.
RATIO = "SDK/lean load CPU per msg"
LEAN = "lean client"
SDK = "SDK"
_RATE = "delivered msg/s (full load)"


def run(system: str, server: BenchServer, users: int, settings: Settings) -> WorkloadOutcome:
    """The lean client's phase, then the SDK's, on ``server``; both sets of figures."""
    lean = peer.run(system, server, users, settings)
    agora = AgoraService()
    # The load tool's SDK settings (Agora's timings, a small de-duplication window).
    sdk_client = partial(SdkLoadClient, agora=agora, config=client_config(LoadOptions()))
    try:
        sdk = peer.run(system, server, users, settings, make_client=sdk_client, prefix="sdk")
    finally:
        agora.release()
    return compare(lean, sdk)


def load_us_per_msg(outcome: WorkloadOutcome) -> float | None:
    """The load process's CPU per delivered message (us) in a full-load phase."""
    rate = outcome.metrics.get(_RATE)
    share = outcome.metrics.get("load CPU %")
    if not rate or share is None:
        return None
    return share / 100.0 / rate * 1e6


def compare(lean: WorkloadOutcome, sdk: WorkloadOutcome) -> WorkloadOutcome:
    """One outcome with each phase's figures (labelled) and the ratio of load CPU."""
    metrics: dict[str, float] = {}
    cost: dict[str, float | None] = {}
    for label, outcome in ((LEAN, lean), (SDK, sdk)):
        m = outcome.metrics
        cost[label] = load_us_per_msg(outcome)
        figures = {
            f"delivered msg/s ({label})": m.get(_RATE),
            f"load CPU us/msg ({label})": cost[label],
            f"server CPU us/msg ({label})": m.get("server CPU us/msg"),
            f"p50 ms ({label})": m.get("p50 ms (full load)"),
            f"p99 ms ({label})": m.get("p99 ms (full load)"),
        }
        metrics.update({k: v for k, v in figures.items() if v is not None})
    lean_cost, sdk_cost = cost[LEAN], cost[SDK]
    if lean_cost and sdk_cost is not None:
        metrics[RATIO] = sdk_cost / lean_cost
    errors = [f"{LEAN}: {e}" for e in lean.errors] + [f"{SDK}: {e}" for e in sdk.errors]
    return WorkloadOutcome(metrics, _sum(lean.tally, sdk.tally), errors)


def _sum(a: BitLedgerTotals | None, b: BitLedgerTotals | None) -> BitLedgerTotals | None:
    if a is None or b is None:
        return a or b
    return BitLedgerTotals(*(getattr(a, f.name) + getattr(b, f.name) for f in fields(a)))
