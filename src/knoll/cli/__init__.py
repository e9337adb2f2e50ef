"""The knoll command line."""
