"""dialectic batch: sweeps of debates, scored and compared with a compute-matched baseline."""
