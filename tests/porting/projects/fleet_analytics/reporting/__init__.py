"""Reports on the ingested data (which the ingest package prefixes with fleet/)."""
