#!/usr/bin/env python3
"""numpy peer for `gapkit align eval FILE --method all`: every method fitted on the first half of the pairs
with the float64 twins of src/align (scripts/make_fixtures.py: eigh, svd, solve), then the held-out half
measured as the table shows it (gap, paired cosine, R@1 both ways, A→B R@5); no bootstrap intervals.
With --every-output, each row measures what gapkit's --json prints of it (cones, alignment, uniformity,
R@1/5/10 and mean rank both ways, effective ranks from Gram eigenvalues, the gap's variance share) and
the R@1 intervals from 1,000 bootstrap resamples of the held-out queries, vectorised (no ties assumed).
Usage: align_numpy.py FILE.npy [--every-output] > json"""
import json, sys
from pathlib import Path
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from make_fixtures import ALIGN_PARAMS, fit_align  # noqa: E402


def table_row(x, y):
    s = x @ y.T
    t = np.diag(s)
    rank_ab, rank_ba = (s > t[:, None]).sum(1), (s > t[None, :]).sum(0)
    return {"gap": float(np.linalg.norm(x.mean(0) - y.mean(0))), "pairedCos": float(t.mean()),
            "r1": float((rank_ab < 1).mean()), "r1BToA": float((rank_ba < 1).mean()), "r5": float((rank_ab < 5).mean())}


def effective_rank(gram):
    e = np.linalg.eigvalsh(gram)
    s = np.sqrt(e[e > len(e) * 2.0 ** -52 * e[-1]])
    p = s / s.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def full_row(x, y, resamples):
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = y / np.linalg.norm(y, axis=1, keepdims=True)
    n = len(x)
    z = np.vstack([x, y])
    g = z @ z.T
    gx, gy, s = g[:n, :n], g[n:, n:], g[:n, n:]
    t = np.diag(s)
    iu = np.triu_indices(n, 1)
    rank_ab, rank_ba = (s > t[:, None]).sum(1), (s > t[None, :]).sum(0)
    recall = lambda r: {"r1": float((r < 1).mean()), "r5": float((r < 5).mean()), "r10": float((r < 10).mean()),
                        "meanRank": float((r + 1).mean()),
                        "r1CI": np.percentile((r[resamples] < 1).mean(1), [2.5, 97.5]).tolist()}
    gap = x.mean(0) - y.mean(0)
    proj = z @ (gap / np.linalg.norm(gap))
    return {"gap": float(np.linalg.norm(gap)), "cone": [float((m.sum() - n) / (n * (n - 1))) for m in (gx, gy)],
            "pairedCos": float(t.mean()), "alignment": float(((x - y) ** 2).sum(1).mean()),
            "uniformity": [float(np.log(np.exp(-2 * (2 - 2 * m[iu])).mean())) for m in (gx, gy)],
            "retrieval": [recall(rank_ab), recall(rank_ba)],
            "effectiveRank": [effective_rank(m) for m in (gx, gy, g)],
            "gapVarianceFraction": float(proj.var() / z.var(0).sum())}


f = np.load(sys.argv[1]).astype(np.float32)
every = "--every-output" in sys.argv[2:]
n = f.shape[1] // 2
a, b = f[0], f[1]
unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)
resamples = np.random.default_rng(0).integers(0, f.shape[1] - n, (1000, f.shape[1] - n))
row = (lambda x, y: full_row(x.astype(np.float64), y.astype(np.float64), resamples)) if every else table_row
rows = {"baseline": row(unit(a[n:]), unit(b[n:]))}
for kind, params in ALIGN_PARAMS.items():
    g = fit_align(kind, a[:n], b[:n], params)
    rows[kind] = row(g(a[n:], "a"), g(b[n:], "b"))
print(json.dumps(rows))
