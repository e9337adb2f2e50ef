"""A fleet team's code location: ingest and reporting packages, loaded by package."""
