"""Garbage-collector settings for a long-running server process.

CPython's default thresholds (700, 10, 10) run a young collection every 700 new
container objects, and every message through a server makes several (frames, actor
messages, envelopes), nearly all of which die young anyway. Under load that cost
10-20% of the server's CPU in ``rtm-actors bench`` (peer messages, 100 and 1,000
users; see benchmarks/README.md). ``tune_for_server`` freezes what start-up
allocated (modules, classes: never garbage, never scanned again) and makes
collections rarer. Reference counting still frees almost everything at once; only
cycles wait longer.

It also turns off gevent's greenlet tree tracking (``track_greenlet_tree``): by
default every spawned greenlet records its parent, the parent's spawn-tree locals
and the spawning stack (walking up to 10 frames), debugging aids that nothing here
reads. A server spawns a greenlet per login (the connection's handler; the session
actor's own starts only once a message has to wait for it); gevent.spawn cost 10.8 us
with tracking, 4.3 us without.

Process-wide, so only process entry points call it (``rtm-actors serve``; the load
tool once its simulated users are logged in, so that they are frozen too); an
application that embeds the server can call it at its own start.
"""

from __future__ import annotations

import gc

import gevent

#: New container objects between young collections (CPython's default: 700).
YOUNG_THRESHOLD = 50_000
#: Young collections per middle one, middle per full one (defaults: 10, 10).
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 100


def tune_for_server() -> None:
    """Freeze everything allocated so far and make collections rarer; spawn
    greenlets without recording their spawn tree."""
    gevent.config.track_greenlet_tree = False
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
