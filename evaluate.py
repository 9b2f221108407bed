"""Evaluate a trained network: transition curves, crossings with confidence intervals.

python evaluate.py ckpt=outputs/<run>/checkpoints/best.ckpt
python evaluate.py run_id=<mlflow run id> evaluation.energies=[0,1,2,3]
python evaluate.py ckpt=... target_model=ando          # transfer to another model of the class
"""

import hydra
from omegaconf import DictConfig

import qpt.config  # noqa: F401  (registers the config schema)
from qpt.console import hydra_entry, run


@hydra.main(config_path="conf", config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    from qpt.evaluating import evaluate  # imported here: spawned workers re-import this file

    run(evaluate, cfg)


if __name__ == "__main__":
    hydra_entry(main)
