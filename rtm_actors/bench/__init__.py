"""``rtm-actors bench``: our server side by side with a transport ceiling and python-socketio.

Each workload runs every system in the same run, each server in a process of its own
and the load from this one, so server and load each get a core. See
``benchmarks/README.md`` for what each figure means and the latest full run.
"""
