"""Checks on the ingested assets, written against their unprefixed keys."""
