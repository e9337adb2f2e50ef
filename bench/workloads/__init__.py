"""One small script per workload and system; each prints a single JSON line of measurements."""
