"""A tiny random CLIP (vision + text towers) in the transformers.js model-folder layout, for the embed tests.

Run with a python that has torch (1.13 here: /usr/bin/python3 scripts/make_clip_fixture.py). Writes
tests/fixtures/clip-tiny/: config.json, tokenizer.json (CLIP's byte-level BPE with `</w>` word ends),
tokenizer_config.json, preprocessor_config.json, onnx/text_model.onnx and onnx/vision_model.onnx
(inputs and outputs named as the optimum export of CLIPTextModelWithProjection /
CLIPVisionModelWithProjection), plus test inputs (images/, texts.txt, a corrupt image) and expected.json:
the token ids of the test captions and both towers' outputs computed here in float64 by torch — a
runtime independent of onnxruntime.
"""
import json
import os
import struct
import zlib

import numpy as np
import torch
from torch import nn

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "clip-tiny")
WIDTH, HEADS, PROJECTION, IMAGE, PATCH, MAX_POSITIONS = 32, 2, 16, 32, 8, 77
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]
WORDS = ["a", "photo", "of", "cat", "dog", "red", "blue", "square", "on", "the", "grass"]
CAPTIONS = ["a photo of a cat", "A red  square", "the dog on the grass", "blue", "a zebra"]


def bytes_to_unicode():
    """GPT-2/CLIP's map from bytes to printable characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]


def build_tokenizer():
    """CLIP's tokenizer layout with a small vocabulary: every byte (alone and word-final) and the WORDS."""
    chars = bytes_to_unicode()
    vocab = {}
    for token in chars + [c + "</w>" for c in chars]:
        vocab[token] = len(vocab)
    merges = []
    for word in WORDS:
        symbols = list(word[:-1]) + [word[-1] + "</w>"]
        while len(symbols) > 1:
            merged = symbols[0] + symbols[1]
            if f"{symbols[0]} {symbols[1]}" not in merges:
                merges.append(f"{symbols[0]} {symbols[1]}")
            vocab.setdefault(merged, len(vocab))
            symbols = [merged] + symbols[2:]
    bos, eos = len(vocab), len(vocab) + 1
    special = lambda i, t: {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": True, "special": True}
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(bos, "<|startoftext|>"), special(eos, "<|endoftext|>")],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFC"}, {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}, {"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"},
             "behavior": "Removed", "invert": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "RobertaProcessing", "sep": ["<|endoftext|>", eos], "cls": ["<|startoftext|>", bos],
                           "trim_offsets": False, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<|endoftext|>", "continuing_subword_prefix": "",
                  "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False,
                  "vocab": {**vocab, "<|startoftext|>": bos, "<|endoftext|>": eos}, "merges": merges},
    }
    return tokenizer, vocab, merges, bos, eos


def encode(text, vocab, merges, bos, eos):
    """This tokenizer's ids for lowercase ASCII words (BPE by merge rank), to check the JS tokenizer."""
    ranks = {m: i for i, m in enumerate(merges)}
    ids = [bos]
    for word in " ".join(text.split()).lower().split(" "):
        symbols = list(word[:-1]) + [word[-1] + "</w>"]
        while len(symbols) > 1:
            pairs = [(ranks.get(f"{a} {b}", 1 << 30), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
            rank, i = min(pairs)
            if rank == 1 << 30:
                break
            symbols = symbols[:i] + [symbols[i] + symbols[i + 1]] + symbols[i + 2:]
        ids += [vocab[s] for s in symbols]
    return ids + [eos]


class Block(nn.Module):
    """A pre-norm transformer block; attention written out so every shape stays dynamic in the export."""

    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
        self.qkv, self.out = nn.Linear(WIDTH, 3 * WIDTH), nn.Linear(WIDTH, WIDTH)
        self.mlp = nn.Sequential(nn.Linear(WIDTH, 4 * WIDTH), nn.GELU(), nn.Linear(4 * WIDTH, WIDTH))

    def forward(self, x, mask=None):
        heads = lambda t: t.reshape(t.shape[0], t.shape[1], HEADS, -1).transpose(1, 2)
        q, k, v = (heads(t) for t in self.qkv(self.ln1(x)).chunk(3, dim=-1))
        scores = q @ k.transpose(-1, -2) / (WIDTH // HEADS) ** 0.5
        if mask is not None:
            scores = scores + mask
        attended = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(x.shape)
        x = x + self.out(attended)
        return x + self.mlp(self.ln2(x))


class Vision(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, WIDTH, PATCH, PATCH, bias=False)
        self.cls = nn.Parameter(torch.randn(WIDTH) * 0.1)
        self.pos = nn.Parameter(torch.randn((IMAGE // PATCH) ** 2 + 1, WIDTH) * 0.1)
        self.pre, self.post = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
        self.block = Block()
        self.proj = nn.Linear(WIDTH, PROJECTION, bias=False)

    def forward(self, pixel_values):
        x = self.patch(pixel_values).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], 1, WIDTH), x], dim=1) + self.pos
        x = self.block(self.pre(x))
        return self.proj(self.post(x[:, 0])), x


class Text(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, WIDTH)
        self.pos = nn.Parameter(torch.randn(MAX_POSITIONS, WIDTH) * 0.1)
        self.block = Block()
        self.final = nn.LayerNorm(WIDTH)
        self.proj = nn.Linear(WIDTH, PROJECTION, bias=False)

    def forward(self, input_ids, attention_mask):
        seq = input_ids.shape[1]
        x = self.embed(input_ids) + self.pos[:seq]
        causal = torch.triu(torch.full((seq, seq), -1e9, dtype=x.dtype), diagonal=1)
        padding = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -1e9
        mask = causal + padding
        x = self.final(self.block(x, mask))
        # CLIP pools the end-of-text token: the highest id, first occurrence
        pooled = x[torch.arange(x.shape[0]), input_ids.argmax(dim=-1)]
        return self.proj(pooled), x


def png(path, pixels):
    """An 8-bit RGB PNG (no PIL needed for the writer, so the bytes are the same everywhere)."""
    h, w, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].astype(np.uint8).tobytes() for y in range(h))
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    os.makedirs(os.path.join(OUT, "onnx"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "images"), exist_ok=True)
    tokenizer, vocab, merges, bos, eos = build_tokenizer()
    vocab_size = eos + 1
    vision, text = Vision().eval(), Text(vocab_size).eval()

    torch.onnx.export(vision, (torch.zeros(1, 3, IMAGE, IMAGE),), os.path.join(OUT, "onnx", "vision_model.onnx"),
                      input_names=["pixel_values"], output_names=["image_embeds", "last_hidden_state"],
                      dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}, "last_hidden_state": {0: "batch"}},
                      opset_version=14)
    ids = torch.tensor([[bos, 3, eos]])
    torch.onnx.export(text, (ids, torch.ones_like(ids)), os.path.join(OUT, "onnx", "text_model.onnx"),
                      input_names=["input_ids", "attention_mask"], output_names=["text_embeds", "last_hidden_state"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                                    "text_embeds": {0: "batch"}, "last_hidden_state": {0: "batch", 1: "sequence"}},
                      opset_version=14)

    write = lambda name, value: open(os.path.join(OUT, name), "w").write(json.dumps(value, indent=1) + "\n")
    write("tokenizer.json", tokenizer)
    write("tokenizer_config.json", {"tokenizer_class": "CLIPTokenizer", "model_max_length": MAX_POSITIONS,
                                    "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
                                    "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "do_lower_case": True})
    write("preprocessor_config.json", {"image_processor_type": "CLIPImageProcessor", "do_resize": True,
                                       "size": {"shortest_edge": IMAGE}, "resample": 3, "do_center_crop": True,
                                       "crop_size": {"height": IMAGE, "width": IMAGE}, "do_rescale": True,
                                       "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": MEAN,
                                       "image_std": STD, "do_convert_rgb": True})
    write("config.json", {"model_type": "clip", "architectures": ["CLIPModel"], "projection_dim": PROJECTION,
                          "text_config": {"model_type": "clip_text_model", "vocab_size": vocab_size, "hidden_size": WIDTH,
                                          "num_attention_heads": HEADS, "num_hidden_layers": 1,
                                          "max_position_embeddings": MAX_POSITIONS, "projection_dim": PROJECTION,
                                          "bos_token_id": bos, "eos_token_id": eos, "pad_token_id": eos},
                          "vision_config": {"model_type": "clip_vision_model", "hidden_size": WIDTH, "image_size": IMAGE,
                                            "patch_size": PATCH, "num_attention_heads": HEADS, "num_hidden_layers": 1,
                                            "projection_dim": PROJECTION}})

    # test inputs: IMAGE×IMAGE PNGs (so resizing and cropping leave them as they are), a larger one, a corrupt one
    images = {f"img{i}.png": rng.integers(0, 256, (IMAGE, IMAGE, 3)) for i in range(4)}
    for name, pixels in images.items():
        png(os.path.join(OUT, "images", name), pixels)
    png(os.path.join(OUT, "wide.png"), rng.integers(0, 256, (40, 64, 3)))
    with open(os.path.join(OUT, "corrupt.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\nnot an image at all")
    with open(os.path.join(OUT, "texts.txt"), "w") as f:
        f.write("\n".join(CAPTIONS[:4]) + "\n")

    vision64, text64 = vision.double(), text.double()
    with torch.no_grad():
        pixels = np.stack([images[f"img{i}.png"] for i in range(4)]).astype(np.float64) / 255
        pixels = ((pixels - MEAN) / STD).transpose(0, 3, 1, 2)
        image_embeds = vision64(torch.tensor(pixels))[0].numpy()
        tokens = [encode(c, vocab, merges, bos, eos) for c in CAPTIONS]
        text_embeds = [text64(torch.tensor([t]), torch.ones(1, len(t)))[0][0].numpy() for t in tokens]
    write("expected.json", {"tokens": dict(zip(CAPTIONS, tokens)), "image_embeds": image_embeds.tolist(),
                            "text_embeds": dict(zip(CAPTIONS, [e.tolist() for e in text_embeds]))})


if __name__ == "__main__":
    main()
