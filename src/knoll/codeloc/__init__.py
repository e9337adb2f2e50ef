"""Code locations: loading user code and describing it as a versioned JSON snapshot."""
