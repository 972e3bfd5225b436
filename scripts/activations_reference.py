"""Reference values for actbench's built-in activations, computed with PyTorch.

For every activation in ACTIVATIONS below (the torch.nn module with actbench's
default parameters) and every point x = -6.0, -5.75, ..., 6.0 (49 points, step
0.25), this prints the float64 value f(x) and the autograd derivative f'(x),
each point on its own as a 0-d tensor:

    x = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    y = f(x); y.sum().backward(); x.grad

tests/data/activations_torch.csv is this script's output with PyTorch 2.15.0
(CPU); tests/it/activations_reference.rs compares actbench's values and
derivatives against that file. Regenerate it from the repository root:

    python3 -m venv .venv-torch \
      && .venv-torch/bin/pip install torch==2.15.0 \
      && .venv-torch/bin/python scripts/activations_reference.py > tests/data/activations_torch.csv

(.venv-torch is the venv scripts/bench_vs_pytorch.sh also uses; any venv with
torch 2.15.0 will do, and the default PyPI wheel is fine for CPU use.)
`--out FILE` writes FILE instead of standard output.

Why one point at a time: that is how the committed file was made. Evaluating
all 49 points as one tensor runs ATen's SIMD loops instead of the per-element
code and changes 41 of the 2,058 values and derivatives (elu, selu, celu,
gelu, gelu_tanh, mish, softplus) by 1 to 4 ulp, up to 128 ulp where a
derivative crosses zero (gelu'(-0.75), mish'(-1.25)): all far below the Rust
test's 1e-5 tolerance. The last bits also depend on ATen's CPU capability: the file was
reproduced byte for byte on an AVX2 CPU (torch.backends.cpu.get_cpu_capability()
== "AVX2"); with ATEN_CPU_CAPABILITY=default, tanh, gelu_tanh, silu, mish and
log_sigmoid differ in 88 of them by a few ulp.

Output: CSV with the header `activation,x,value,derivative`, one row per
activation and point, activations in the order of ACTIVATIONS, points in
increasing order. Numbers are Python's repr() of the float64 (shortest
round-trip form, e.g. `-6.0`, `0.25`, `2.4576547405302974e-05`, `-0.0`);
lines end in CRLF, as Python's csv module writes them.

`step` (actbench's 22nd built-in) has no torch.nn counterpart and is not in
the file; tests/it/activations_reference.rs tests it on its own.
"""

import argparse
import csv
import sys

import torch
from torch import nn

# name (actbench's canonical name) -> torch callable with actbench's defaults.
# One line per activation; the file lists them in this order.
ACTIVATIONS = [
    ("identity", nn.Identity()),
    ("sigmoid", nn.Sigmoid()),
    ("tanh", nn.Tanh()),
    ("relu", nn.ReLU()),
    ("leaky_relu", nn.LeakyReLU(negative_slope=0.01)),
    ("prelu", nn.PReLU(num_parameters=1, init=0.25)),  # derivative w.r.t. the input
    ("elu", nn.ELU(alpha=1.0)),
    ("selu", nn.SELU()),
    ("celu", nn.CELU(alpha=1.0)),
    ("gelu", nn.GELU(approximate="none")),
    ("gelu_tanh", nn.GELU(approximate="tanh")),
    ("silu", nn.SiLU()),
    ("mish", nn.Mish()),
    ("softplus", nn.Softplus(beta=1.0, threshold=20.0)),
    ("softsign", nn.Softsign()),
    ("hard_sigmoid", nn.Hardsigmoid()),
    ("hard_swish", nn.Hardswish()),
    ("hard_tanh", nn.Hardtanh(min_val=-1.0, max_val=1.0)),
    ("relu6", nn.ReLU6()),
    ("log_sigmoid", nn.LogSigmoid()),
    ("tanhshrink", nn.Tanhshrink()),
]

# -6.0 to 6.0 in steps of 0.25: every point is exact in binary.
POINTS = [-6.0 + 0.25 * i for i in range(49)]


def rows():
    for name, module in ACTIVATIONS:
        f = module.to(torch.float64)  # PReLU's weight must match the input's dtype
        for point in POINTS:
            x = torch.tensor(point, dtype=torch.float64, requires_grad=True)
            y = f(x)
            y.sum().backward()
            yield [name, point, y.item(), x.grad.item()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the CSV to this file instead of standard output")
    args = parser.parse_args()
    out = open(args.out, "w", newline="") if args.out else sys.stdout
    writer = csv.writer(out)  # floats are written with repr()
    writer.writerow(["activation", "x", "value", "derivative"])
    writer.writerows(rows())
    if args.out:
        out.close()


if __name__ == "__main__":
    main()
