"""The ``zoo`` command line: list, info, generate, card, push.

Every verb's ``--help`` ends with a runnable example.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from .train import EXAMPLE as TRAIN_EXAMPLE

EXAMPLES = {
    "list": "zoo list '*lesion*' --task unconditional",
    "info": "zoo info dcgan-lesions --json",
    "generate": "zoo generate dcgan-lesions -n 16 -o samples/ --seed 0 --truncation 0.7",
    "card": "zoo card dcgan-lesions > README.md",
    "push": "zoo push runs/my-dcgan --repo my-lab/dcgan-lesions --revision v1 --private",
    "train": TRAIN_EXAMPLE,
}


def _cmd_list(args) -> int:
    import zoo

    filters = {k: v for k, v in (("task", args.task), ("modality", args.modality), ("family", args.family)) if v}
    ids = zoo.list_models(args.pattern, **filters)
    if args.json:
        print(json.dumps(ids))
        return 0
    for model_id in ids:
        spec = zoo.info(model_id)
        h, w = spec.image_size
        state = "trained" if spec.trained else "untrained"
        print(f"{model_id:<24} {spec.family:<10} {spec.task:<22} {spec.modality:<16} {h}x{w}x{spec.channels}  {state}")
    if not ids:
        print("no model matches", file=sys.stderr)
    return 0


def _cmd_info(args) -> int:
    import zoo

    spec = zoo.info(args.model_id)
    facts = {
        "id": spec.id, "family": spec.family, "task": spec.task, "modality": spec.modality,
        "image_size": list(spec.image_size), "channels": spec.channels, "class_names": list(spec.class_names),
        "config": spec.config, "trained": spec.trained, "embedded_weights": spec.has_embedded_weights,
        "hub_repo": spec.hub_repo, "revision": spec.revision, "license": spec.license,
        "training_data": spec.training_data, "metrics": [asdict(m) for m in spec.metrics], "plugin": spec.plugin,
        "description": spec.description,
    }
    if args.json:
        print(json.dumps(facts, indent=2, default=list))
    else:
        for key, value in facts.items():
            print(f"{key:<17} {value}")
    return 0


def _cmd_generate(args) -> int:
    from tqdm.auto import tqdm

    import zoo

    args.out.mkdir(parents=True, exist_ok=True)  # fail on a bad output path before any work
    pipe = zoo.load(args.model, revision=args.revision, device=args.device)
    kwargs = dict(num_images=args.num_images, seed=args.seed, truncation=args.truncation, batch_size=args.batch_size)
    if args.labels:
        if pipe.task != "class-conditional":
            raise ValueError(f"--labels needs a class-conditional model; {args.model} is {pipe.task}")
        kwargs["labels"] = args.labels
    out = pipe(**kwargs)
    stem = Path(pipe.model.model_id).name
    for i, image in enumerate(tqdm(out.images, desc="saving", unit="image", delay=1.0)):
        image.save(args.out / f"{stem}-seed{args.seed}-{i:04d}.png")
    print(f"wrote {len(out.images)} images to {args.out}")
    return 0


def _cmd_card(args) -> int:
    from huggingface_hub import ModelCard

    from .hub import load_model, resolve

    source, revision, registry_weights = resolve(args.model, args.revision)
    if registry_weights:  # the registry entry's card, rendered fresh
        print(load_model(args.model, revision=args.revision).generate_model_card())
    elif Path(source).is_dir():  # a folder's own card, as written
        print((Path(source) / "README.md").read_text(encoding="utf-8"))
    else:
        print(ModelCard.load(source, revision=revision))
    return 0


def _cmd_push(args) -> int:
    from .hub import load_model, upload_model_folder

    model = load_model(args.model)  # validates config and weights before anything is uploaded
    if Path(args.model).is_dir():  # upload the folder as it is, keeping its own model card
        commit = upload_model_folder(args.model, args.repo, revision=args.revision, private=args.private,
                                     commit_message=args.message or f"Upload {model.model_id} with medgan-zoo")
    else:
        commit = model.push_to_hub(args.repo, revision=args.revision, private=args.private, commit_message=args.message)
    print(f"pushed {args.model} to {args.repo}: {commit}")
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def _cmd_train(args) -> int:
    from .train import main as train_main

    return train_main(args.train_args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoo",
        description="medgan-zoo: GANs for medical and dermatological images. Not for diagnosis.",
        epilog="example: zoo generate dcgan-lesions -n 8 -o samples/",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def verb(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, epilog=f"example:\n  {EXAMPLES[name]}",
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    p = verb("list", "List registered model ids (glob pattern and filters).")
    p.add_argument("pattern", nargs="?", help="glob on the model id, e.g. '*lesion*'")
    p.add_argument("--task", help="e.g. unconditional, class-conditional, masked-edit")
    p.add_argument("--modality", help="e.g. dermoscopy")
    p.add_argument("--family", help="e.g. dcgan")
    p.add_argument("--json", action="store_true", help="print a JSON list of ids")
    p.set_defaults(func=_cmd_list)

    p = verb("info", "Show everything the registry knows about a model id.")
    p.add_argument("model_id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_info)

    p = verb("generate", "Sample images from a generative model and write PNGs.")
    p.add_argument("model", help="model id, Hub repo id (owner/name) or local folder")
    p.add_argument("-n", "--num-images", type=_positive_int, default=16)
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--truncation", type=_positive_float, default=None,
                   help="re-draw latent components with |z| above this")
    p.add_argument("--labels", nargs="+", help="class names (class-conditional models)")
    p.add_argument("--batch-size", type=_positive_int, default=64)
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps ...")
    p.add_argument("--revision", default=None, help="Hub branch, tag or commit")
    p.set_defaults(func=_cmd_generate)

    p = verb("card", "Print the model card (README.md) of a model.")
    p.add_argument("model", help="model id, Hub repo id or local folder")
    p.add_argument("--revision", default=None)
    p.set_defaults(func=_cmd_card)

    p = verb("push", "Upload a model id or a saved folder to a Hub repo (HF_ENDPOINT, HF_TOKEN respected).")
    p.add_argument("model", help="model id or folder written by save_pretrained")
    p.add_argument("--repo", required=True, help="owner/name on the Hub")
    p.add_argument("--revision", default=None, help="branch to push to (created if missing)")
    p.add_argument("--private", action="store_true")
    p.add_argument("-m", "--message", default=None, help="commit message")
    p.set_defaults(func=_cmd_push)

    p = sub.add_parser("train", add_help=False, help="Train a model on a folder (zoo train --help for options).",
                       description="Train a model; everything after `train` goes to zoo/train.py.")
    p.add_argument("train_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cmd_train)
    return parser


def _version() -> str:
    from . import __version__

    return f"medgan-zoo {__version__}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["train"]:  # its options belong to zoo/train.py's own parser
        return _cmd_train(argparse.Namespace(train_args=argv[1:]))
    args = build_parser().parse_args(argv)
    from .errors import ZooError

    try:
        return args.func(args)
    # Expected failures (bad ids, files, arguments, an output path that is a file): one line, no traceback.
    except (ZooError, ValueError, OSError) as exc:
        print(f"zoo {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
