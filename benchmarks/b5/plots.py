"""B5 draws no figure: its tables (seconds, queries per second, ms per query) are the whole result."""
