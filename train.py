"""Train a CNN to tell the two phases of a random lattice model apart.

python train.py                                # SU(2), deep net, the letter's disorder
python train.py model=chern net=deep
python train.py -m net=simple,deep model=su2,chern
python train.py experiment=letter_su2
python train.py experiment=discover_su2          # W_c and nu from two W ranges alone
"""

import hydra
from omegaconf import DictConfig

import qpt.config  # noqa: F401  (registers the config schema)
from qpt.console import hydra_entry, run


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float:
    # imported here: spawned workers re-import this file
    from qpt.discovery import discover
    from qpt.training import train

    summary = run(discover if cfg.task == "discover" else train, cfg)
    return float(summary.get(cfg.optimized_metric.replace("/", "_"), float("nan")))


if __name__ == "__main__":
    hydra_entry(main)
