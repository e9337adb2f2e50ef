"""The snow report example: raw reports per ski resort, daily conditions and a daily summary."""
