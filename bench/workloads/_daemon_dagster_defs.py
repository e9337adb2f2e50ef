"""Dagster's definitions for the daemon workloads (see ``_daemon_defs``): ``dagster-daemon run
-f``."""

import dagster

from bench.workloads._daemon_defs import make_definitions

defs = make_definitions(dagster)
