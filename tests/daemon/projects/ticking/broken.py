"""A code location whose import fails."""

raise ImportError("the broken location's module cannot be imported")
