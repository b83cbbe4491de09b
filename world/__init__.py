"""Yakuba."""

import os

# Our numpy work is on small arrays, and the import and fire-spread pools already keep every
# core busy: OpenBLAS's own threads only spin against them (8% of a real-sample import's CPU,
# measured with perf). It must be set before numpy loads; an explicit setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
