#!/usr/bin/env python3
"""Streaming numpy peer for `gapkit stats` with the d×d second moments: reads the (2, N, d) float32 .npy in
chunks (memory-mapped) and sums, in float64, each chunk's normalised rows, their squares and products and
the Grams âᵀâ, b̂ᵀb̂, âᵀb̂. Usage: moments_numpy.py FILE.npy > json"""
import json, sys
import numpy as np
f = np.load(sys.argv[1], mmap_mode="r")
n, d = f.shape[1], f.shape[2]
sums = {k: np.zeros((d, d)) for k in ("aa", "bb", "ab")}
sa, sb, paired = np.zeros(d), np.zeros(d), 0.0
for s in range(0, n, 65536):
    a = f[0, s:s + 65536].astype(np.float64); b = f[1, s:s + 65536].astype(np.float64)
    a /= np.linalg.norm(a, axis=1, keepdims=True); b /= np.linalg.norm(b, axis=1, keepdims=True)
    sa += a.sum(0); sb += b.sum(0); paired += float(np.einsum("ij,ij->", a, b))
    sums["aa"] += a.T @ a; sums["bb"] += b.T @ b; sums["ab"] += a.T @ b
print(json.dumps({"n": n, "gap": float(np.linalg.norm((sa - sb) / n)), "pairedCos": paired / n,
                  "traceAA": float(np.trace(sums["aa"]))}))
