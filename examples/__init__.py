"""Runnable example projects; each is importable as ``examples.<name>`` and tested."""
