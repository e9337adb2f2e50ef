"""Execution: plans, contexts, the user-code boundary, executors and events."""
