"""Writes N synthetic float32 pairs of dimension 512 as a (2, N, 512) .npy, in bounded memory.
Usage: python3 make_pairs.py N OUT.npy
"""
import numpy as np, sys
n, d = int(sys.argv[1]), 512
path = sys.argv[2]
r = np.random.default_rng(0)
f = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(2, n, d))
step = 65536
for s in range(0, n, step):
    e = min(n, s + step)
    base = r.standard_normal((e - s, d), dtype=np.float32)
    f[0, s:e] = base + 0.5
    f[1, s:e] = base + 2 * r.standard_normal((e - s, d), dtype=np.float32) - 0.5
f.flush()
