"""``LoadOptions``: everything that defines a load run (pure data, JSON-able)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class LoadOptions:
    """Everything that defines a run (JSON-able, so worker processes get the same).

    Bounds: ``users``, ``duration`` and ``max_messages`` are all required to be
    finite; the embedded server listens on 127.0.0.1 only.
    """

    scenario: str = "mixed"
    users: int = 100
    duration: float = 30.0
    rate: float = 1.0
    seed: int = 1
    url: str | None = None
    workers: int = 1
    max_messages: int = 1_000_000
    #: Users logging in at once (a wave); 0 = everyone at once (``storm`` always is).
    wave: int = 200
    message_size: int = 64
    app_id: str = "loadtest"
    prefix: str = "lt"
    #: ``package.module:Class`` or ``path/to/file.py:Class`` (a ``SimulatedUser``).
    user_class: str | None = None
    #: Seconds a login wave may take.
    login_timeout: float = 30.0
    #: Seconds to wait for the last sends' outcomes and deliveries.
    drain_timeout: float = 15.0
    #: Received message ids each simulated user remembers (the SDK's default is 8192).
    dedup_window: int = 512
    max_loss: float = 0.0
    max_errors: int = 0
    progress_interval: float = 0.0
    #: The SDK's log level in worker processes (failures are counted, not logged).
    log_level: str = "error"

    def to_json(self) -> str:
        """The options as a JSON object."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LoadOptions:
        """The inverse of ``to_json`` (unknown keys are ignored)."""
        data = json.loads(text)
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
