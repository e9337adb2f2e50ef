"""knoll's definitions for the daemon workloads (see ``_daemon_defs``): ``knoll daemon run -f``."""

import knoll
from bench.workloads._daemon_defs import make_definitions

defs = make_definitions(knoll)
