#!/usr/bin/env python3
"""numpy peer for `gapkit measure` with every metric it reports: the shared peer's metrics plus mean
rank and the spectrum (effective ranks, gap variance fraction). float32 math, float64 sums, like the
shared peer. Usage: measure_numpy_full.py FILE.npy > json"""
import json, sys
import numpy as np
f = np.load(sys.argv[1]).astype(np.float32)
x, y = f[0], f[1]
x = x / np.linalg.norm(x, axis=1, keepdims=True); y = y / np.linalg.norm(y, axis=1, keepdims=True)
N = len(x)
sxx, syy, sxy = x @ x.T, y @ y.T, x @ y.T
off = lambda s: float((s.sum(dtype=np.float64) - np.trace(s, dtype=np.float64)) / (N * (N - 1)))
paired = np.einsum("ij,ij->i", x, y, dtype=np.float64)
iu = np.triu_indices(N, 1)
unif = lambda s: float(np.log(np.exp(-2 * (2 - 2 * s[iu].astype(np.float64))).mean()))
def rec(s):
    t = np.diag(s); r = (s > t[:, None]).sum(1)
    return {"r1": float((r < 1).mean()), "r5": float((r < 5).mean()), "r10": float((r < 10).mean()), "meanRank": float((r + 1).mean())}
def erank(g):
    s = np.sqrt(np.clip(np.linalg.eigvalsh(g), 0, None)); p = s[s > 0] / s.sum()
    return float(np.exp(-(p * np.log(p)).sum()))
x64, y64 = x.astype(np.float64), y.astype(np.float64)
ga, gb = x64.T @ x64, y64.T @ y64
gap = x.mean(0, dtype=np.float64) - y.mean(0, dtype=np.float64)
xy = np.vstack([x64, y64]); proj = xy @ (gap / np.linalg.norm(gap))
ca, cb, pc = off(sxx), off(syy), float(paired.mean())
dm = max(1 - (pc + 1) / 2, 1e-3); da = max(1 - (ca + 1) / 2, 1e-3); db = max(1 - (cb + 1) / 2, 1e-3)
print(json.dumps({"gap": {"l2m": float(np.linalg.norm(gap)), "rmg": dm / (dm + (da + db) / 2)},
                  "cone": {"a": ca, "b": cb}, "pairedCos": pc,
                  "alignment": float(((x - y) ** 2).sum(1, dtype=np.float64).mean()),
                  "uniformity": {"a": unif(sxx), "b": unif(syy)},
                  "retrieval": {"aToB": rec(sxy), "bToA": rec(sxy.T)},
                  "spectrum": {"effectiveRank": {"a": erank(ga), "b": erank(gb), "joint": erank(ga + gb)},
                               "gapVarianceFraction": float(proj.var() / xy.var(0).sum())}}))
