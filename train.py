"""Train a CNN to tell the two phases of a random lattice model apart (Hydra entry point)."""

import hydra
from omegaconf import DictConfig, OmegaConf


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    print(OmegaConf.to_yaml(cfg))
    print("qpt: training arrives with the datasets and networks (issues #3 and #4).")


if __name__ == "__main__":
    main()
