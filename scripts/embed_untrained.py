"""Write the clearly labelled untrained placeholder weights that a plugin embeds.

    python scripts/embed_untrained.py dcgan-lesions

Seeded, so the files are reproducible. Trained weights replace these in later releases.
"""

import argparse
import shutil

import torch

import zoo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_id")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    spec = zoo.info(args.model_id)
    if spec.weights is None:
        raise SystemExit(f"{args.model_id} declares no embedded weights folder (ModelSpec.weights)")
    if spec.trained:
        raise SystemExit(f"{args.model_id} is marked trained; refusing to overwrite its weights with noise")
    torch.manual_seed(args.seed)
    model = zoo.create(args.model_id)
    model.registry_weights = True  # these become the entry's own weights: its card facts apply
    shutil.rmtree(spec.weights, ignore_errors=True)
    model.save_pretrained(spec.weights, inference_only=True)
    print(f"wrote untrained {args.model_id} to {spec.weights}")


if __name__ == "__main__":
    main()
