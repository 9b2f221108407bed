"""Training-loop throughput: the Lightning loop against a bare PyTorch loop.

    python benchmarks/training.py [--net deep] [--L 40] [--states 1800] [--epochs 3]

Same network, data (random |psi|^2-like images), optimiser, batch size and thread count;
the two loops alternate (bare, lightning, bare, lightning) so machine noise hits both.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, TensorDataset

import qpt.config  # noqa: F401  (registers the config schema)
from qpt.models.module import PhaseClassifier

CONF = Path(__file__).resolve().parents[1] / "conf"
NETS = sorted(p.stem for p in (CONF / "net").glob("*.yaml"))


def make_module(net: str, L: int) -> PhaseClassifier:
    """The classifier train.py builds for ``net=<net>`` with the default optimiser."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"net={net}", f"L={L}"])
    torch.manual_seed(0)
    net_cfg, optim_cfg = (OmegaConf.to_container(cfg[k]) for k in ("net", "optim"))
    return PhaseClassifier(net_cfg, optim_cfg, cfg.symmetry, {"L": L, "model": "su2"})


def bare_loop(module: PhaseClassifier, loader: DataLoader, epochs: int) -> float:
    opt = module.configure_optimizers()["optimizer"]
    module.train()
    t0 = time.perf_counter()
    for _ in range(epochs):
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(module(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return time.perf_counter() - t0


def lightning_loop(module: PhaseClassifier, loader: DataLoader, epochs: int) -> float:
    trainer = pl.Trainer(
        max_epochs=epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        num_sanity_val_steps=0,
    )
    t0 = time.perf_counter()
    trainer.fit(module, train_dataloaders=loader)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net", default="deep", choices=NETS)
    parser.add_argument("--L", type=int, default=40)
    parser.add_argument("--states", type=int, default=1800)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(args.states, 1, args.L, args.L, generator=g) * 2
    y = torch.randint(0, 2, (args.states,), generator=g)
    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch, shuffle=True, generator=g)
    times = {"bare PyTorch": [], "Lightning": []}
    for _ in range(args.repeats):
        times["bare PyTorch"].append(bare_loop(make_module(args.net, args.L), loader, args.epochs))
        times["Lightning"].append(
            lightning_loop(make_module(args.net, args.L), loader, args.epochs)
        )
    n = args.states * args.epochs
    print(
        f"net={args.net} L={args.L} {args.states} samples x {args.epochs} epochs, batch {args.batch}, "
        f"torch threads {torch.get_num_threads()} (median of {args.repeats})"
    )
    print(f"{'loop':<14}{'time [s]':>10}{'samples/s':>12}")
    rate = {}
    for name, ts in times.items():
        t = statistics.median(ts)
        rate[name] = n / t
        print(f"{name:<14}{t:>10.2f}{rate[name]:>12.0f}")
    print(f"Lightning / bare throughput: {rate['Lightning'] / rate['bare PyTorch']:.3f}")


if __name__ == "__main__":
    main()
