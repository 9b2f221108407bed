"""Train a CNN to tell the two phases of a random lattice model apart.

python train.py                                # SU(2), deep net, the letter's disorder
python train.py model=chern net=deep
python train.py -m net=simple,deep model=su2,chern
python train.py experiment=letter_su2
"""

import logging
import sys

import hydra
from omegaconf import DictConfig

log = logging.getLogger("qpt")


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float:
    from qpt.training import train  # imported here: spawned workers re-import this file

    try:
        summary = train(cfg)
    except ValueError as err:  # bad input: one line, non-zero exit
        log.error("error: %s", err)
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    metric = cfg.optimized_metric.replace("val/", "val_")
    return float(summary.get(metric, float("nan")))


if __name__ == "__main__":
    main()
