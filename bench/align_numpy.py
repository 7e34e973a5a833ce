#!/usr/bin/env python3
"""numpy peer for `gapkit align eval FILE --method all`: every method fitted on the first half of the pairs
with the float64 twins of src/align (scripts/make_fixtures.py: eigh, svd, solve), then the held-out half
measured as the table shows it (gap, paired cosine, R@1 both ways, A→B R@5); no bootstrap intervals.
Usage: align_numpy.py FILE.npy > json"""
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


f = np.load(sys.argv[1]).astype(np.float32)
n = f.shape[1] // 2
a, b = f[0], f[1]
unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)
rows = {"baseline": table_row(unit(a[n:]), unit(b[n:]))}
for kind, params in ALIGN_PARAMS.items():
    g = fit_align(kind, a[:n], b[:n], params)
    rows[kind] = table_row(g(a[n:], "a"), g(b[n:], "b"))
print(json.dumps(rows))
