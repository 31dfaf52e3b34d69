"""Several nodes on one Redis, one RTM system: see ``docs/cluster.md``."""

from rtm_actors.server.cluster.cluster import Cluster
from rtm_actors.server.cluster.keys import Keys

__all__ = ["Cluster", "Keys"]
