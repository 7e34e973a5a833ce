#!/usr/bin/env python3
"""numpy peer for bench/gemm.ts: median GFLOP/s of float32 A·B per shape. Usage: gemm_numpy.py M,K,N ... -> JSON"""
import json, sys, time
import numpy as np

REPS, WARMUP = 9, 2
out = {}
rng = np.random.default_rng(0)
for spec in sys.argv[1:]:
    m, k, n = map(int, spec.split(","))
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    times = []
    for r in range(REPS + WARMUP):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    out[spec] = 2 * m * n * k / float(np.median(times[WARMUP:])) / 1e9
print(json.dumps(out))
