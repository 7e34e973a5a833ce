#!/usr/bin/env python3
"""Blocked numpy peer for `gapkit measure --pairwise-max N` on large N: every metric gapkit reports, exact,
in row blocks so memory stays bounded — per block of rows the products a·Aᵀ, b·Bᵀ over the columns from the
block on (cones, uniformity: the upper triangle), a·Bᵀ (A→B ranks) and b·Aᵀ (B→A ranks), ≈ 3 N²d
multiply-adds in all (the issue's peer took 4: whole Grams). float32 products and exp, float64 sums.
Usage: measure_numpy_blocked.py FILE.npy > json"""
import json, sys
import numpy as np
f = np.load(sys.argv[1], mmap_mode="r")
x = f[0].astype(np.float32); y = f[1].astype(np.float32)
x /= np.linalg.norm(x, axis=1, keepdims=True); y /= np.linalg.norm(y, axis=1, keepdims=True)
N, B = len(x), 2048
paired = np.einsum("ij,ij->i", x, y, dtype=np.float64)
cos = {"a": 0.0, "b": 0.0}; unif = {"a": 0.0, "b": 0.0}
rank_ab = np.empty(N, np.int64); rank_ba = np.empty(N, np.int64)
for s in range(0, N, B):
    e = min(N, s + B)
    for name, m in (("a", x), ("b", y)):
        g = m[s:e] @ m[s:].T  # columns j ≥ s: the upper triangle j > i lies there
        cos[name] += 2 * float(g[:, e - s:].sum(dtype=np.float64) + np.triu(g[:, :e - s], 1).sum(dtype=np.float64))
        u = np.exp(4 * (g - 1))  # exp(−2‖u_i − u_j‖²) = exp(−4 + 4 u_i·u_j), float32 like gapkit's graph
        unif[name] += float(u[:, e - s:].sum(dtype=np.float64) + np.triu(u[:, :e - s], 1).sum(dtype=np.float64))
    sab = x[s:e] @ y.T; sba = y[s:e] @ x.T
    rows = np.arange(e - s)
    rank_ab[s:e] = (sab > sab[rows, rows + s][:, None]).sum(1)
    rank_ba[s:e] = (sba > sba[rows, rows + s][:, None]).sum(1)
pairs = N * (N - 1) / 2
rec = lambda r: {"r1": float((r < 1).mean()), "r5": float((r < 5).mean()), "r10": float((r < 10).mean()), "meanRank": float((r + 1).mean())}
x64, y64 = x.astype(np.float64), y.astype(np.float64)
ga, gb = x64.T @ x64, y64.T @ y64
def erank(g):
    s = np.sqrt(np.clip(np.linalg.eigvalsh(g), 0, None)); p = s[s > 0] / s.sum()
    return float(np.exp(-(p * np.log(p)).sum()))
gap = x64.mean(0) - y64.mean(0)
print(json.dumps({"gap": float(np.linalg.norm(gap)), "cone": {k: v / (N * (N - 1)) for k, v in cos.items()},
                  "uniformity": {k: float(np.log(v / pairs)) for k, v in unif.items()},
                  "retrieval": {"aToB": rec(rank_ab), "bToA": rec(rank_ba)},
                  "effectiveRank": {"a": erank(ga), "b": erank(gb), "joint": erank(ga + gb)}}))
