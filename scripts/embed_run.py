"""Embed a trained run's model as a registry entry's default weights.

    python scripts/embed_run.py runs/sngan/model sngan-lesions
    python scripts/embed_run.py runs/cyclegan-pws/model cyclegan-pws --half   # float16 file, half the size

The entry's card facts (``plugins/<family>/cards/<id>.yaml``) must already say ``trained: true``,
state the training data, the command and the measured metrics, and carry a changelog entry for the
new weights' version: the card is rendered from them. Only the inference networks are
embedded (no discriminator), to keep the package small.
"""

import argparse
import json
import shutil

import zoo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_model", help="a run's model/ folder (save_pretrained format)")
    parser.add_argument("model_id")
    parser.add_argument("--half", action="store_true",
                        help="store float16 weights (half the package size); they load into float32 networks")
    args = parser.parse_args()
    spec = zoo.info(args.model_id)
    if spec.weights is None or not spec.trained:
        raise SystemExit(f"{args.model_id}: give it an embedded-weights folder and set trained: true (with its "
                         "data, command, metrics and a changelog entry) in its cards/<id>.yaml first")
    model = zoo.load(args.run_model).model
    same = json.loads(json.dumps(model.config)) == json.loads(json.dumps(spec.config))  # tuples vs lists
    if model.family != spec.family or not same:
        raise SystemExit(f"{args.run_model} is not a {args.model_id} with that entry's configuration")
    model.model_id, model.registry_weights = args.model_id, True
    shutil.rmtree(spec.weights, ignore_errors=True)
    (model.half() if args.half else model).save_pretrained(spec.weights, inference_only=True)
    print(f"embedded {args.run_model} as {args.model_id} in {spec.weights}")


if __name__ == "__main__":
    main()
