"""Evaluate a trained network: transition curves, crossings with confidence intervals.

python evaluate.py ckpt=outputs/<run>/checkpoints/best.ckpt
python evaluate.py run_id=<mlflow run id> energies=[0,1,2,3]
python evaluate.py ckpt=... target_model=ando          # transfer to another model of the class
"""

import logging
import sys

import hydra
from omegaconf import DictConfig

log = logging.getLogger("qpt")


@hydra.main(config_path="conf", config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    from qpt.evaluation.cli import evaluate  # imported here: spawned workers re-import this file

    try:
        result = evaluate(cfg)
    except ValueError as err:  # bad input: one line, non-zero exit
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    for name, value in sorted(result["metrics"].items()):
        print(f"{name} = {value:.4f}")


if __name__ == "__main__":
    main()
