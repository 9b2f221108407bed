"""Evaluate a trained network: transition curves and critical points (Hydra entry point)."""

import hydra
from omegaconf import DictConfig, OmegaConf


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    print(OmegaConf.to_yaml(cfg))
    print("qpt: evaluation arrives with issue #5.")


if __name__ == "__main__":
    main()
