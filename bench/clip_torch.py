#!/usr/bin/env python3
"""PyTorch twin of bench row (a) of `npm run bench -- train`: the shared peer's model and step (two MLP towers
512->256->128 with ReLU, symmetric CLIP loss with a learnable logit scale, Adam, batch 256), fed as gapkit's
trainer feeds its own: 24,640 random rows a side, of which 24,576 are shuffled afresh each epoch and taken 256
at a time. (The shared peer cycles through the 500 rows of features_clip, which stay in cache.) Times three
epochs of 96 steps after 20 untimed ones and prints steps per second.
THREADS is torch.set_num_threads's (ATen's); Debian's OpenBLAS keeps its own threads, one a core, for the
products (OPENBLAS_NUM_THREADS=1 made this step ≈ 25 % slower here; THREADS=2 oversubscribes: 4× slower).
Usage: /usr/bin/python3 clip_torch.py [THREADS]"""
import sys, time
import torch

torch.manual_seed(0)
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
B, PER_EPOCH, EPOCHS = 256, 96, 3
FIT = B * PER_EPOCH
xa, xb = torch.randn(FIT + 64, 512), torch.randn(FIT + 64, 512)
tower = lambda: torch.nn.Sequential(torch.nn.Linear(512, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128))
ta, tb = tower(), tower()
t = torch.nn.Parameter(torch.log(torch.tensor(1 / 0.07)))
opt = torch.optim.Adam(list(ta.parameters()) + list(tb.parameters()) + [t], lr=1e-3)
labels = torch.arange(B)


def epoch(steps):
    order = torch.randperm(FIT)
    losses = []
    for s in range(steps):
        idx = order[s * B:(s + 1) * B]
        a = torch.nn.functional.normalize(ta(xa[idx]), dim=-1)
        b = torch.nn.functional.normalize(tb(xb[idx]), dim=-1)
        logits = t.exp().clamp(max=100) * a @ b.T
        loss = (torch.nn.functional.cross_entropy(logits, labels) + torch.nn.functional.cross_entropy(logits.T, labels)) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())  # read every step, as gapkit's trainer and the shared peer do
    return losses


epoch(20)
start = time.perf_counter()
for _ in range(EPOCHS):
    epoch(PER_EPOCH)
print(f"steps/s={EPOCHS * PER_EPOCH / (time.perf_counter() - start):.1f}")
