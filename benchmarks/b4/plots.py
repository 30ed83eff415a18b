"""B4 draws no figure: its table (images per second of three runners) is the whole result."""
