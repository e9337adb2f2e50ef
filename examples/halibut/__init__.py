"""The halibut example: a team's project laid out in modules, with weekly partitions and config."""
