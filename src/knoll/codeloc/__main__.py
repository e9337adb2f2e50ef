"""``python -m knoll.codeloc OPTIONS_JSON`` starts a code server (:mod:`knoll.codeloc.server`)."""

import sys

from knoll.codeloc.server import main

sys.exit(main(sys.argv[1:]))
