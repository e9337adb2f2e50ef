"""Storage: one interface per concern, implemented in SQL (SQLite, PostgreSQL) and in memory."""
