"""Reference values for actbench's network layers and models, computed with PyTorch.

Every weight and input is a deterministic function of its name and shape (see
"fill" below), so the Rust test rebuilds the same tensors without reading any
from this file; the file holds only the results: forward outputs, losses,
gradients and batch-norm running statistics. Everything is float32 (torch's
default), on the CPU, with one thread and torch.use_deterministic_algorithms.

tests/data/models_torch.csv is this script's output with PyTorch 2.15.0 (CPU,
the default PyPI wheel, torch.backends.cpu.get_cpu_capability() == "AVX512").
Regenerate it from the repository root:

    python3 -m venv .venv-torch \
      && .venv-torch/bin/pip install torch==2.15.0 numpy \
      && .venv-torch/bin/python scripts/models_reference.py --out tests/data/models_torch.csv

`--out FILE` writes FILE; without it the CSV goes to standard output. Two runs
give the same file byte for byte; another CPU (AVX2 rather than AVX512, another
BLAS or oneDNN kernel) may change the last bits of convolutions and matrix
products.

How exact the numbers are: they carry float32 rounding, which grows with a
tensor's magnitude. Rerun in float64 (same float32 weights and inputs), the
outputs, losses, running statistics and the norm and MLP cases move by at most
4e-6; the block gradients (up to ~40 in size) by up to 3e-5, i.e. 1.2e-6 of
the tensor's largest value; the ResNet-8 gradients by up to 1.6e-5 (5e-6 of the
largest); resnet20's grad_stats l2 and sum by up to 7e-4 (the sums cancel:
2e-5 of l2). So a comparison should scale its tolerance with the tensor's
magnitude: e.g. 1e-5 * max(1, max |reference|) for values, and for a
grad_stats sum 1e-5 * sqrt(n) * l2 (which bounds sum |v|).

fill(name, shape, scale, offset=0.0)
------------------------------------
The float32 tensor of the given shape whose element at flat index i (row-major,
torch's layout, i = 0, 1, ..., prod(shape) - 1) is

    h    = ((sum of the UTF-8 bytes of name) % 97) * 0.1          float64
    x_i  = 0.37 * i + h                                            float64
    v_i  = float32(offset + scale * sin(x_i))

where every step is float64 arithmetic evaluated in the order written (the
product 0.37 * float64(i) first, then + h; scale * sin, then offset +), sin is
the C library's float64 sin (Python's math.sin, Rust's f64::sin), and the one
rounding to float32 is round-to-nearest-even (Rust's `as f32`). The integer
(byte sum) % 97 times 0.1 is a float64 product: "input" has byte sum 560,
560 % 97 = 75, h = 75 * 0.1 = 7.5; "bn.weight": 902 % 97 = 29, h = 29 * 0.1 =
2.9000000000000004. fill("input", shape, 1.5) starts 1.406999945640564, 1.499807596206665.

Parameters, by their full dotted PyTorch name (model.named_parameters(), e.g.
`stages.1.blocks.0.conv1.weight`):
  Conv2d weight [o, i, k, k]   fill(name, shape, 1 / sqrt(i * k * k))
  Linear weight [out, in]      fill(name, shape, 1 / sqrt(in))
  Linear / Conv2d bias         fill(name, shape, 0.1)
  BatchNorm / LayerNorm / GroupNorm weight   fill(name, shape, 0.1, offset=1.0)
  BatchNorm / LayerNorm / GroupNorm bias     fill(name, shape, 0.1)
(1 / sqrt(n) is float64: 1.0 / math.sqrt(n).) Batch norms start with
running_mean 0 and running_var 1, momentum 0.1; every norm has eps 1e-5
(PyTorch's defaults). In training mode batch norm normalises with the biased
batch variance and updates running_var with the unbiased one:
    running_mean <- 0.9 * running_mean + 0.1 * mean
    running_var  <- 0.9 * running_var  + 0.1 * var * m / (m - 1)
m being the number of values per channel (N, or N * H * W).

Inputs: fill("input", shape, 1.5); a batch-norm case's training pass t
(t = 0, 1, 2) uses fill("input", shape, 1.5, offset=0.5 * t).
"sum" loss: (out * fill("upstream", out.shape, 1.0)).sum().
Classifier loss: cross entropy (mean over the batch) with label j % classes
for sample j.

Networks (the architecture the Rust side follows)
-------------------------------------------------
BasicBlock(in, out, stride, shortcut, act): conv1 (3x3, stride `stride`,
padding 1, no bias), bn1, act, conv2 (3x3, stride 1, padding 1, no bias), bn2,
+ shortcut(x) (left out when shortcut is "none": the plain network), act.
When stride != 1 or in != out the shortcut is, for option "a",
F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, p, p)) with p = (out - in) // 2 (zero
channels, half before and half after: He et al. 2016's option A, as in Yerlan
Idelbayev's pytorch_resnet_cifar10), and for option "b" the submodule
`shortcut` = {conv: 1x1 conv, stride `stride`, no bias; bn: BatchNorm2d(out)};
otherwise it is the identity.

ResNet(depth = 6n + 2, shortcut, act, classes, in_channels): conv1 (3x3,
in_channels -> 16, padding 1, no bias), bn1, act; `stages` = 3 stages of n
BasicBlocks each (attribute `blocks`), 16, 32 and 64 channels, the first block
of stages 1 and 2 with stride 2; the mean over H and W; `output` =
Linear(64, classes).

ResMLP(inputs, width, blocks, classes, act): `input` = Linear(inputs, width)
(no activation after it); each block x = x + fc2(act(fc1(norm(x)))) with
norm = LayerNorm(width) and fc1, fc2 = Linear(width, width); then `norm` =
LayerNorm(width); `output` = Linear(width, classes).

GPT(vocab, width, heads, layers, block, act, gated, bias) (nanoGPT's model.py
without dropout): parameters `wte` [vocab, width] and `wpe` [block, width]
(plain tensors, named so); `blocks.i` = {ln_1: LayerNorm(width, bias), attn:
{c_attn: Linear(width, 3 width, bias), c_proj: Linear(width, width, bias)},
ln_2, mlp: {c_fc: Linear(width, hidden, bias), c_v (gated only, the same
shape), c_proj: Linear(hidden, width, bias)}}; `ln_f`. hidden = 4 width, or
(8 width + 1) // 3 when gated. x = wte[idx] + wpe[:T]; per block x = x +
attn(ln_1(x)), x = x + mlp(ln_2(x)), attention causal with heads of width //
heads features, scores q k^T / sqrt(width // heads), -inf above the diagonal,
softmax; mlp = c_proj(act(c_fc(x))) or c_proj(act(c_fc(x)) * c_v(x));
logits = ln_f(x) wte^T, as [batch * T, vocab]. Its `wte` and `wpe` are filled
as fill(name, shape, 0.5); token ids idx[b, t] = (7 b + 3 t + 1) % vocab, the
targets (5 b + 2 t + 3) % vocab, the loss cross entropy over all B * T
positions.

MLP with batch norm: for each hidden width i, `layers.i` = Linear, `norms.i` =
BatchNorm1d, act; then `output` = Linear (Ioffe & Szegedy 2015's placement,
batch norm between the affine map and the nonlinearity).

Cases (the `case` column)
-------------------------
bn2d            BatchNorm2d(4) `bn`, input [6, 4, 3, 3]. Training passes
                t = 0, 1, 2, each followed by running_mean.t / running_var.t;
                the last pass's output and its "sum" loss gradients (bn.weight,
                bn.bias, input); then eval mode: eval_output on the t = 0 input.
bn1d            the same with BatchNorm1d(5), input [8, 5].
layernorm       LayerNorm(10) `norm`, input [6, 10]: output, "sum" gradients.
groupnorm1      GroupNorm(1, 4) `norm`, input [6, 4, 3, 3]: likewise.
block_a_relu, block_b_relu, block_none_relu
                BasicBlock(8, 16, stride 2, option a / b / none, relu),
                training mode, input [4, 8, 6, 6]: output, "sum" gradients of
                every parameter and of the input, then running_mean and
                running_var of every batch norm after the pass.
resnet20_a_relu ResNet(20, "a", relu, 10 classes, 3 input channels), input
                [4, 3, 8, 8]; resnet8_b_tanh: ResNet(8, "b", tanh, 10, 1),
                input [4, 1, 8, 8]; plain8_relu: ResNet(8, "none", relu, 10, 1),
                input [4, 1, 8, 8]. One training pass with the cross-entropy
                loss: output (the logits), loss, every parameter's gradient;
                then eval mode (with the running statistics of that one pass):
                eval_output on the same input. The gradients of the three
                networks are summarised (role grad_stats, below) instead of
                written out: ResNet-20's 270k values alone would take 5.4 MB
                (the residual blocks above hold every gradient of a block).
resmlp_gelu     ResMLP(12, 16, 2 blocks, 5 classes, exact GELU), input [6, 12],
                cross entropy: output, loss, every parameter's gradient.
gpt_plain_gelu  GPT(11, 16, 2 heads, 2 layers, block 8, exact GELU, plain,
                bias), batch 3 of T = 8: output (logits), loss, every
                parameter's gradient.
gpt_gated_silu_nobias
                GPT(11, 12, 3 heads, 2 layers, block 8, SiLU, gated, no
                biases), batch 2 of T = 6 (shorter than the block): likewise.
mlp_bn_sigmoid  MLP 12 -> [10, 10] -> 5, batch norm, sigmoid, training mode,
                input [6, 12], cross entropy: output, loss, every parameter's
                gradient, running_mean / running_var of norms.0 and norms.1;
                then eval_output on the same input.

Output
------
CSV with the header `case,name,role,shape,values`, one row per tensor, rows in
the order above (within a case: running statistics of the batch-norm passes,
output, loss, gradients in named_parameters() order then the input's, running
statistics, eval_output).
  role    output | eval_output | loss | grad | grad_stats | running_mean |
          running_var | running_mean.t | running_var.t (t the pass, 0-based)
  name    the parameter's or module's dotted name; `input` for the input's
          gradient; `-` for outputs and the loss
  shape   the dims joined by `x` (`4x10`); the scalar loss is `1`
  values  the float32 values in row-major order, each as Python's repr() of
          the value converted to a Python float (exact; the shortest form that
          reads back as that float64, e.g. `0.10000000149011612`), separated
          by single spaces
A grad_stats row (the ResNets and the plain network) has the gradient's shape and six
float64 numbers instead of its values: `l2 sum v[0] v[n//3] v[n//2] v[n-1]`,
n the number of elements, v the flat float32 gradient; l2 = sqrt(s2) and sum
with s2 = sum of v[i]^2, both sums exact before their one rounding to float64
(math.fsum; each square of a float32 is exact in float64), so they do not
depend on the order of summation.
Lines end in CRLF, as Python's csv module writes them.
"""

import argparse
import csv
import math
import sys

import torch
import torch.nn.functional as F
from torch import nn


# ---------------------------------------------------------------- fill


def fill(name, shape, scale, offset=0.0):
    """The deterministic tensor the Rust test rebuilds; see the module docstring."""
    h = (sum(name.encode("utf-8")) % 97) * 0.1
    n = math.prod(shape)
    # math.sin is the C library's float64 sin, the one Rust's f64::sin calls;
    # numpy's vectorised sin may use other kernels and differ in the last bit.
    values = [offset + scale * math.sin(0.37 * i + h) for i in range(n)]
    # One rounding, float64 -> float32, to nearest (a C cast).
    return torch.tensor(values, dtype=torch.float64).to(torch.float32).reshape(shape)


NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)


def init_parameters(model):
    """Set every parameter from its dotted name; fail if one is left out."""
    done = set()
    with torch.no_grad():
        for prefix, module in model.named_modules():
            p = prefix + "." if prefix else ""
            if isinstance(module, nn.Conv2d):
                o, i, kh, kw = module.weight.shape
                module.weight.copy_(fill(p + "weight", module.weight.shape, 1.0 / math.sqrt(i * kh * kw)))
                done.add(p + "weight")
                if module.bias is not None:
                    module.bias.copy_(fill(p + "bias", module.bias.shape, 0.1))
                    done.add(p + "bias")
            elif isinstance(module, nn.Linear):
                fan_in = module.weight.shape[1]
                module.weight.copy_(fill(p + "weight", module.weight.shape, 1.0 / math.sqrt(fan_in)))
                done.add(p + "weight")
                if module.bias is not None:
                    module.bias.copy_(fill(p + "bias", module.bias.shape, 0.1))
                    done.add(p + "bias")
            elif isinstance(module, NORMS):
                module.weight.copy_(fill(p + "weight", module.weight.shape, 0.1, offset=1.0))
                done.add(p + "weight")
                if module.bias is not None:
                    module.bias.copy_(fill(p + "bias", module.bias.shape, 0.1))
                    done.add(p + "bias")
                # The spec fixes these; assert rather than trust the defaults.
                assert module.eps == 1e-5
                if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                    assert module.momentum == 0.1
                    module.reset_running_stats()  # mean 0, var 1
            elif isinstance(module, GPT):
                for name in ("wte", "wpe"):
                    param = getattr(module, name)
                    param.copy_(fill(p + name, tuple(param.shape), 0.5))
                    done.add(p + name)
    names = {name for name, _ in model.named_parameters()}
    assert done == names, f"parameters without an initialiser: {sorted(names - done)}"
    return model


# ---------------------------------------------------------------- networks


class Wrap(nn.Module):
    """One layer under a fixed attribute name, so its parameters are `bn.weight` etc."""

    def __init__(self, attr, layer):
        super().__init__()
        self.attr = attr
        setattr(self, attr, layer)

    def forward(self, x):
        return getattr(self, self.attr)(x)


class ShortcutB(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, shortcut, act):
        super().__init__()
        assert shortcut in ("a", "b", "none")
        self.act = act
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.mode = shortcut
        self.projects = stride != 1 or cin != cout
        self.pad = (cout - cin) // 2
        if shortcut == "b" and self.projects:
            self.shortcut = ShortcutB(cin, cout, stride)

    def forward(self, x):
        out = self.bn2(self.conv2(self.act(self.bn1(self.conv1(x)))))
        if self.mode == "none":
            pass
        elif not self.projects:
            out = out + x
        elif self.mode == "a":
            # Option A takes every other pixel, whatever the stride: the
            # networks here only project where stride == 2.
            out = out + F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        else:
            out = out + self.shortcut(x)
        return self.act(out)


class Stage(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x


class ResNet(nn.Module):
    def __init__(self, depth, shortcut, act, classes, in_channels):
        super().__init__()
        assert (depth - 2) % 6 == 0
        n = (depth - 2) // 6
        self.act = act
        self.conv1 = nn.Conv2d(in_channels, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        stages, cin = [], 16
        for s, cout in enumerate((16, 32, 64)):
            blocks = []
            for b in range(n):
                stride = 2 if s > 0 and b == 0 else 1
                blocks.append(BasicBlock(cin, cout, stride, shortcut, act))
                cin = cout
            stages.append(Stage(blocks))
        self.stages = nn.ModuleList(stages)
        self.output = nn.Linear(64, classes)

    def forward(self, x):
        x = self.act(self.bn1(self.conv1(x)))
        for stage in self.stages:
            x = stage(x)
        return self.output(x.mean(dim=(2, 3)))


class ResMLPBlock(nn.Module):
    def __init__(self, width, act):
        super().__init__()
        self.act = act
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, x):
        return x + self.fc2(self.act(self.fc1(self.norm(x))))


class ResMLP(nn.Module):
    def __init__(self, inputs, width, blocks, classes, act):
        super().__init__()
        self.input = nn.Linear(inputs, width)
        self.blocks = nn.ModuleList(ResMLPBlock(width, act) for _ in range(blocks))
        self.norm = nn.LayerNorm(width)
        self.output = nn.Linear(width, classes)

    def forward(self, x):
        x = self.input(x)
        for block in self.blocks:
            x = block(x)
        return self.output(self.norm(x))


class BatchNormMLP(nn.Module):
    def __init__(self, inputs, hidden, classes, act):
        super().__init__()
        self.act = act
        widths = [inputs] + list(hidden)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm1d(w) for w in hidden)
        self.output = nn.Linear(widths[-1], classes)

    def forward(self, x):
        for layer, norm in zip(self.layers, self.norms):
            x = self.act(norm(layer(x)))
        return self.output(x)


class Attention(nn.Module):
    def __init__(self, width, heads, bias):
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(width, 3 * width, bias=bias)
        self.c_proj = nn.Linear(width, width, bias=bias)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(c // self.heads))
        att = att.masked_fill(torch.tril(torch.ones(t, t, dtype=torch.bool)).logical_not(), float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))


class FeedForward(nn.Module):
    def __init__(self, width, act, gated, bias):
        super().__init__()
        self.act = act
        hidden = (8 * width + 1) // 3 if gated else 4 * width
        self.c_fc = nn.Linear(width, hidden, bias=bias)
        self.c_v = nn.Linear(width, hidden, bias=bias) if gated else None
        self.c_proj = nn.Linear(hidden, width, bias=bias)

    def forward(self, x):
        a = self.act(self.c_fc(x))
        if self.c_v is not None:
            a = a * self.c_v(x)
        return self.c_proj(a)


class GPTBlock(nn.Module):
    def __init__(self, width, heads, act, gated, bias):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width, bias=bias)
        self.attn = Attention(width, heads, bias)
        self.ln_2 = nn.LayerNorm(width, bias=bias)
        self.mlp = FeedForward(width, act, gated, bias)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab, width, heads, layers, block, act, gated, bias):
        super().__init__()
        self.wte = nn.Parameter(torch.zeros(vocab, width))
        self.wpe = nn.Parameter(torch.zeros(block, width))
        self.blocks = nn.ModuleList(GPTBlock(width, heads, act, gated, bias) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width, bias=bias)

    def forward(self, idx):
        t = idx.shape[1]
        x = F.embedding(idx, self.wte) + self.wpe[:t]
        for block in self.blocks:
            x = block(x)
        return (self.ln_f(x) @ self.wte.t()).reshape(-1, self.wte.shape[0])


def gpt_case(case, model, batch, t):
    model = init_parameters(model).train()
    vocab = model.wte.shape[0]
    idx = torch.tensor([[(7 * b + 3 * i + 1) % vocab for i in range(t)] for b in range(batch)])
    targets = torch.tensor([(5 * b + 2 * i + 3) % vocab for b in range(batch) for i in range(t)])
    out = model(idx)
    loss = F.cross_entropy(out, targets)
    loss.backward()
    return [row(case, "-", "output", out), row(case, "-", "loss", loss)] + param_grads(case, model)


# ---------------------------------------------------------------- cases


def row(case, name, role, tensor):
    t = tensor.detach()
    shape = "x".join(str(d) for d in t.shape) if t.dim() > 0 else "1"
    values = " ".join(repr(float(v)) for v in t.reshape(-1).tolist())
    return [case, name, role, shape, values]


def sum_loss(out):
    return (out * fill("upstream", tuple(out.shape), 1.0)).sum()


def cross_entropy(logits):
    labels = torch.arange(logits.shape[0]) % logits.shape[1]
    return F.cross_entropy(logits, labels)


def batch_norms(model):
    return [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]


def param_grads(case, model):
    return [row(case, name, "grad", p.grad) for name, p in model.named_parameters()]


def param_grad_stats(case, model):
    """Six float64 numbers per gradient, for a network too big to write out."""
    rows = []
    for name, p in model.named_parameters():
        v = p.grad.reshape(-1).tolist()
        n = len(v)
        stats = [math.sqrt(math.fsum(x * x for x in v)), math.fsum(v), v[0], v[n // 3], v[n // 2], v[n - 1]]
        shape = "x".join(str(d) for d in p.shape)
        rows.append([case, name, "grad_stats", shape, " ".join(repr(x) for x in stats)])
    return rows


def running_stats(case, model, suffix=""):
    rows = []
    for name, bn in batch_norms(model):
        rows.append(row(case, name, "running_mean" + suffix, bn.running_mean))
        rows.append(row(case, name, "running_var" + suffix, bn.running_var))
    return rows


def batch_norm_case(case, layer, shape):
    """Three training passes (running statistics compound), gradients of the last."""
    model = init_parameters(Wrap("bn", layer)).train()
    rows = []
    for t in range(3):
        x = fill("input", shape, 1.5, offset=0.5 * t).requires_grad_(t == 2)
        out = model(x)
        rows += running_stats(case, model, suffix=f".{t}")
    sum_loss(out).backward()
    rows.append(row(case, "-", "output", out))
    rows += param_grads(case, model)
    rows.append(row(case, "input", "grad", x.grad))
    model.eval()
    with torch.no_grad():
        rows.append(row(case, "-", "eval_output", model(fill("input", shape, 1.5))))
    return rows


def sum_case(case, model, shape):
    """One training-mode pass with the "sum" loss: output, gradients, running statistics."""
    model = init_parameters(model).train()
    x = fill("input", shape, 1.5).requires_grad_(True)
    out = model(x)
    sum_loss(out).backward()
    rows = [row(case, "-", "output", out)]
    rows += param_grads(case, model)
    rows.append(row(case, "input", "grad", x.grad))
    rows += running_stats(case, model)
    return rows


def classifier_case(case, model, shape, stats=False, evaluate=False, summarise=False):
    """One training-mode pass with cross entropy; optionally running stats and eval mode."""
    model = init_parameters(model).train()
    x = fill("input", shape, 1.5)
    out = model(x)
    loss = cross_entropy(out)
    loss.backward()
    rows = [row(case, "-", "output", out), row(case, "-", "loss", loss)]
    rows += param_grad_stats(case, model) if summarise else param_grads(case, model)
    if stats:
        rows += running_stats(case, model)
    if evaluate:
        model.eval()
        with torch.no_grad():
            rows.append(row(case, "-", "eval_output", model(x)))
    return rows


def rows():
    relu, tanh, sigmoid, gelu = torch.relu, torch.tanh, torch.sigmoid, nn.GELU(approximate="none")
    yield from batch_norm_case("bn2d", nn.BatchNorm2d(4), (6, 4, 3, 3))
    yield from batch_norm_case("bn1d", nn.BatchNorm1d(5), (8, 5))
    yield from sum_case("layernorm", Wrap("norm", nn.LayerNorm(10)), (6, 10))
    yield from sum_case("groupnorm1", Wrap("norm", nn.GroupNorm(1, 4)), (6, 4, 3, 3))
    for option in ("a", "b", "none"):
        yield from sum_case(f"block_{option}_relu", BasicBlock(8, 16, 2, option, relu), (4, 8, 6, 6))
    yield from classifier_case(
        "resnet20_a_relu", ResNet(20, "a", relu, 10, 3), (4, 3, 8, 8), evaluate=True, summarise=True
    )
    yield from classifier_case(
        "resnet8_b_tanh", ResNet(8, "b", tanh, 10, 1), (4, 1, 8, 8), evaluate=True, summarise=True
    )
    yield from classifier_case(
        "plain8_relu", ResNet(8, "none", relu, 10, 1), (4, 1, 8, 8), evaluate=True, summarise=True
    )
    yield from classifier_case("resmlp_gelu", ResMLP(12, 16, 2, 5, gelu), (6, 12))
    yield from gpt_case("gpt_plain_gelu", GPT(11, 16, 2, 2, 8, gelu, False, True), 3, 8)
    yield from gpt_case("gpt_gated_silu_nobias", GPT(11, 12, 3, 2, 8, F.silu, True, False), 2, 6)
    yield from classifier_case(
        "mlp_bn_sigmoid", BatchNormMLP(12, [10, 10], 5, sigmoid), (6, 12), stats=True, evaluate=True
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the CSV to this file instead of standard output")
    args = parser.parse_args()
    torch.manual_seed(0)  # nothing here draws random numbers; this only guards against a slip
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    out = open(args.out, "w", newline="") if args.out else sys.stdout
    writer = csv.writer(out)
    writer.writerow(["case", "name", "role", "shape", "values"])
    writer.writerows(rows())
    if args.out:
        out.close()


if __name__ == "__main__":
    main()
