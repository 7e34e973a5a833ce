#!/usr/bin/env python3
"""numpy peer for bench/losses.ts: CLIP loss + gradients (float32, as a numpy user writes it) for a batch
of N × d unit rows. Prints the median seconds of 9 runs after 2 warm-ups. Usage: clip_numpy.py N d"""
import sys, time
import numpy as np

n, d = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
a = rng.standard_normal((n, d), dtype=np.float32); a /= np.linalg.norm(a, axis=1, keepdims=True)
b = rng.standard_normal((n, d), dtype=np.float32); b /= np.linalg.norm(b, axis=1, keepdims=True)
s = np.float32(1 / 0.07)

def softmax(l, axis):
    e = np.exp(l - l.max(axis, keepdims=True)); return e / e.sum(axis, keepdims=True)

def step():
    logits = s * (a @ b.T)
    pr, pc = softmax(logits, 1), softmax(logits, 0)
    idx = np.arange(n)
    loss = -(np.log(pr[idx, idx]).mean() + np.log(pc[idx, idx]).mean()) / 2
    dl = (pr + pc - 2 * np.eye(n, dtype=np.float32)) / (2 * n)
    return loss, s * dl @ b, s * dl.T @ a

times = []
for r in range(11):
    t = time.perf_counter(); step(); times.append(time.perf_counter() - t)
print(float(np.median(times[2:])))
