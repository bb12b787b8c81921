"""Write tests/golden/torch_lstm2.npz: a float64 PyTorch LSTM and what it computes.

A 2-layer nn.LSTM (3 inputs, 8 units, batch_first) and an nn.Linear readout (2 outputs), seeded,
in float64; 4 random input sequences of 120 steps. Saved: the state dict's arrays under their
own keys (lstm.weight_ih_l0, ..., readout.weight, readout.bias), ``inputs`` [4, 120, 3],
``hidden`` (the LSTM's output, the last layer's h) [4, 120, 8] and ``outputs`` [4, 120, 2].
tests/test_importers.py checks the float reference of the imported netlist against these
without needing torch.

    python tools/make_torch_golden.py        (needs torch)
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parent.parent / "tests" / "golden" / "torch_lstm2.npz"


class Net(torch.nn.Module):
    def __init__(self, n_in=3, hidden=8, layers=2, n_out=2):
        super().__init__()
        self.lstm = torch.nn.LSTM(n_in, hidden, num_layers=layers, batch_first=True)
        self.readout = torch.nn.Linear(hidden, n_out)

    def forward(self, x):
        h, _ = self.lstm(x)
        return h, self.readout(h)


def main() -> int:
    torch.manual_seed(20240)
    net = Net().double().eval()
    with torch.no_grad():
        # larger than the default init, so gates and cell states swing widely
        for p in net.parameters():
            p.mul_(3.0)
    x = torch.randn(4, 120, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        hidden, y = net(x)
    arrays = {k: v.numpy() for k, v in net.state_dict().items()}
    arrays.update(inputs=x.numpy(), hidden=hidden.numpy(), outputs=y.numpy())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes): torch {torch.__version__}, "
          f"|y| max {float(y.abs().max()):.3f}, |h| max {float(hidden.abs().max()):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
