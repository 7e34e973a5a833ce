#!/usr/bin/env python3
"""PyTorch twin of src/train/autograd/vit.ts for `npm run bench -- train`: a pre-LN vision transformer
classifier (7×7 patches of 28×28 images → 16 tokens + [CLS], d = 64, 4 heads, MLP 256, 2 blocks, tanh GELU),
cross-entropy, AdamW (lr 1e-3, weight decay 0.01), batch 128 of random images, on CPU. With --meta, each
step is a MoNA-style meta-step instead: one inner SGD step on the head (lr 0.1) with create_graph=True and
the outer loss's gradient with respect to every parameter. Prints steps per second.
Usage: /usr/bin/python3 vit_torch.py THREADS [SECONDS] [--meta]"""
import sys, time
import torch
import torch.nn.functional as F

threads = int(sys.argv[1])
seconds = float(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith("--") else 5.0
meta = "--meta" in sys.argv
torch.set_num_threads(threads)
torch.manual_seed(0)
B, D, H, HIDDEN, DEPTH, P = 128, 64, 4, 256, 2, 7


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1, self.norm2 = torch.nn.LayerNorm(D), torch.nn.LayerNorm(D)
        self.q, self.k, self.v, self.out = (torch.nn.Linear(D, D) for _ in range(4))
        self.mlp1, self.mlp2 = torch.nn.Linear(D, HIDDEN), torch.nn.Linear(HIDDEN, D)

    def forward(self, x):
        b, t, _ = x.shape
        n = self.norm1(x)
        split = lambda z: z.view(b, t, H, D // H).transpose(1, 2)
        q, k, v = split(self.q(n)), split(self.k(n)), split(self.v(n))
        w = torch.softmax(q @ k.transpose(-1, -2) / (D // H) ** 0.5, -1)
        x = x + self.out((w @ v).transpose(1, 2).reshape(b, t, D))
        return x + self.mlp2(F.gelu(self.mlp1(self.norm2(x)), approximate="tanh"))


class Vit(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.projection, self.embed_norm = torch.nn.Linear(P * P, D), torch.nn.LayerNorm(D)
        self.positions = torch.nn.Parameter(0.02 * torch.randn(16, D))
        self.cls = torch.nn.Parameter(0.02 * torch.randn(1, 1, D))
        self.blocks = torch.nn.ModuleList(Block() for _ in range(DEPTH))
        self.norm, self.head = torch.nn.LayerNorm(D), torch.nn.Linear(D, 10)

    def features(self, images):
        b = images.shape[0]
        patches = images.view(b, 4, P, 4, P).permute(0, 1, 3, 2, 4).reshape(b, 16, P * P)
        x = torch.cat([self.cls.expand(b, 1, D), self.embed_norm(self.projection(patches)) + self.positions], 1)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)[:, 0]

    def forward(self, images):
        return self.head(self.features(images))


model = Vit()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
images, labels = torch.rand(B, 784), torch.randint(0, 10, (B,))
inner_images, inner_labels = torch.rand(B, 784), torch.randint(0, 10, (B,))


def step():
    optimizer.zero_grad()
    if meta:
        w, b = model.head.weight, model.head.bias
        inner = F.cross_entropy(F.linear(model.features(inner_images), w, b), inner_labels)
        gw, gb = torch.autograd.grad(inner, (w, b), create_graph=True)
        loss = F.cross_entropy(F.linear(model.features(images), w - 0.1 * gw, b - 0.1 * gb), labels)
    else:
        loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()


for _ in range(5):
    step()
count, start = 0, time.perf_counter()
while time.perf_counter() - start < seconds:
    step()
    count += 1
print(f"{count / (time.perf_counter() - start):.2f}")
