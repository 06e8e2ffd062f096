"""``zoo evaluate``: every figure that suits a model, on a real folder, in one report.

Noise-to-image models (unconditional, class-conditional):

* SWD on multi-scale Laplacian-pyramid patches (no pretrained net: every model gets it offline);
* FID, KID, precision and recall on Inception-v3 pool features, when a local weights file is named
  (``inception_weights`` or ``MEDGAN_ZOO_INCEPTION_WEIGHTS``); nothing is downloaded;
* beside them the real-data floor (``floor_*``): as many real *training* images as samples, scored
  the same way against the same held-out images (when the held-out split is known);
* the memorization audit (nearest training image by SSIM and L2 against held-out real images);
* a PCA scatter of real vs generated features, and a truncation sweep of SWD.

Image-to-image models: the translation figures of :mod:`zoo.evaluate.translation`, and for
unpaired models the SWD of each translated domain against the real one. ``paired=True`` says an
unpaired model's A/B files pair up by name (a known answer, e.g. a clean face and the same face
with a drawn stain): each direction is then also scored against its partner (``known_*``).

The real set is the model's held-out part where it is known (RUN/heldout.txt beside a run's
``model/`` folder, ``heldout_list``, or a ``holdout`` split as the model was trained with);
otherwise all of ``data``, which the model may have trained on: the report says which.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from zoo.data.folders import TrainingData, listed_indices, read_paired, split_by_group
from zoo.evaluate.distribution import fid, kid, laplacian_swd, precision_recall
from zoo.evaluate.inception import ENV_VAR, configured_weights, extract_features, load_feature_extractor
from zoo.evaluate.translation import paired_metrics
from zoo.pipelines.translation import TranslationPipeline
from zoo.registry import Metric, task_of

__all__ = [
    "PIXEL_FEATURE_SIZE", "CARD_SECTION", "REAL_FEATURES", "EvaluationReport", "evaluate",
    "update_card", "add_arguments", "run_cli",
]

PIXEL_FEATURE_SIZE = 16  # the scatter's features without Inception: 16 x 16 thumbnails
CARD_SECTION = ("<!-- zoo evaluate: start -->", "<!-- zoo evaluate: end -->")


@dataclass
class EvaluationReport:
    """What ``zoo evaluate`` measured: ``figures`` (name -> number), the settings and the notes."""

    model: str
    task: str
    data: str
    real_set: str
    figures: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    command: str | None = None

    def to_dict(self) -> dict:
        return {"model": self.model, "task": self.task, "data": self.data, "real_set": self.real_set,
                "figures": self.figures, "details": self.details, "notes": self.notes, "files": self.files,
                "command": self.command}

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1, default=_plain) + "\n", encoding="utf-8")
        return path

    def markdown(self) -> str:
        lines = [f"## Evaluation of `{self.model}` ({self.task})", "",
                 f"Real images: {self.real_set}.", "", "| figure | value |", "|---|---:|"]
        lines += [f"| {name} | {_format(value)} |" for name, value in self.figures.items()]
        sweep = self.details.get("truncation_sweep")
        if sweep:
            lines += ["", "Truncation sweep (lower SWD is closer to the real images):", "",
                      "| truncation | SWD (x1e3, mean over levels) |", "|---|---:|"]
            lines += [f"| {row['truncation'] if row['truncation'] is not None else 'off'} | {row['swd']:.2f} |"
                      for row in sweep]
        if self.notes:
            lines += ["", *[f"- {note}" for note in self.notes]]
        if self.command:
            lines += ["", f"Command: `{self.command}`"]
        return "\n".join(lines) + "\n"

    def metrics(self, dataset: str | None = None) -> list[Metric]:
        """The figures as model-card metrics (``model-index`` eval results)."""
        dataset = dataset or self.real_set_name()
        return [Metric(name, round(value, 5), dataset, self.command or "zoo evaluate")
                for name, value in self.figures.items() if math.isfinite(value)]

    def real_set_name(self) -> str:
        name = Path(self.data).name or self.data
        return f"{name} (held-out)" if self.details.get("held_out") else name


def _plain(value):
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def _format(value: float) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x.float() / 255


def _run_heldout_list(source) -> bool:
    return source is not None and Path(source).name == "model" and (Path(source).parent / "heldout.txt").is_file()


def _recorded_split(recorded: dict, holdout: float, group_column: str | None, split_seed: int,
                    notes: list[str]) -> tuple[float, str | None, int]:
    """The held-out split the model was trained with (its config.json), unless another is asked for:
    then an error, since the "held-out" images would include training images."""
    wanted = (recorded["holdout"], recorded.get("group_column"), recorded.get("split_seed", 0))
    if holdout and (holdout, group_column, split_seed) != wanted:
        raise ValueError(
            f"the model was trained with --holdout {wanted[0]} --group-column {wanted[1]} --split-seed {wanted[2]}; "
            f"evaluating with --holdout {holdout} --group-column {group_column} --split-seed {split_seed} would "
            "count training images as held out. Drop --holdout to use the recorded split, or pass exactly it.")
    if not holdout:
        notes.append(f"the held-out split recorded in the model's config.json: --holdout {wanted[0]} "
                     f"--group-column {wanted[1]} --split-seed {wanted[2]}")
    return wanted


def _real_split(data: TrainingData, source: str | None, heldout_list, holdout: float, split_seed: int,
                notes: list[str], generative: bool) -> tuple[TrainingData, TrainingData | None, str]:
    """(real set, training part or None, how the real set was chosen)."""
    if heldout_list is None and source is not None:
        run_list = Path(source).parent / "heldout.txt"
        if Path(source).name == "model" and run_list.is_file():  # a zoo train run's model/
            heldout_list = run_list
    if heldout_list is not None:
        held = listed_indices(data, Path(heldout_list))
        rest = sorted(set(range(len(data))) - set(held))
        return data.subset(held), data.subset(rest), f"the {len(held)} held-out images listed in {heldout_list}"
    if holdout:
        train, held = split_by_group(data, holdout, seed=split_seed)
        return held, train, (f"a {holdout:g} held-out split (split seed {split_seed}; {len(held)} images), "
                             "as zoo train --holdout makes it")
    notes.append("no held-out split is known: the real set is all of the data, which the model may have trained on "
                 "(pass --heldout-list RUN/heldout.txt or --holdout as in training)"
                 + ("; the memorization audit needs held-out images and was skipped" if generative else ""))
    return data, None, f"all {len(data)} images of the folder (no held-out split known)"


def evaluate(
    model,
    data: str | Path,
    *,
    num_samples: int = 1000,
    inception_weights: str | Path | None = None,
    heldout_list: str | Path | None = None,
    holdout: float = 0.0,
    group_column: str | None = None,
    split_seed: int = 0,
    label_column: str = "dx",
    truncations: Sequence[float | None] = (None, 2.0, 1.0, 0.5),
    memorization_samples: int = 256,
    batch_size: int = 64,
    seed: int = 0,
    device=None,
    progress: bool = True,
    out: str | Path | None = None,
    command: str | None = None,
    paired: bool = False,
) -> EvaluationReport:
    """Evaluate ``model`` (a registry id, Hub repo id, local folder, or a pipeline) against ``data``.

    ``out``: a folder for the plots (scatter.png, memorization.png, closest_pairs.png) and
    report.json / report.md. See the module docstring for what is measured and on which images.
    """
    import zoo

    source = model if isinstance(model, (str, Path)) else None
    pipe = zoo.load(str(model), device=device) if source is not None else model
    net = pipe.model
    notes: list[str] = []
    task = task_of(net)
    generative = task.inputs == "noise"
    if paired and not (isinstance(pipe, TranslationPipeline) and "BtoA" in pipe.directions):
        raise ValueError(f"paired=True (--paired) is for unpaired-translation models, whose data need not pair up; "
                         f"{net.model_id} is {net.task!r}")
    recorded = getattr(net, "training_split", None)
    if heldout_list is None and not _run_heldout_list(source) and recorded and recorded.get("holdout"):
        holdout, group_column, split_seed = _recorded_split(recorded, holdout, group_column, split_seed, notes)
    read = read_paired if paired else task.read_data  # --paired: the same A/B layout, matched by name
    folder = read(data, net.image_size, net.channels, class_names=tuple(net.config.get("class_names") or ()),
                  label_column=label_column, group_column=group_column, progress=progress)
    real, train, real_set = _real_split(folder, None if source is None else str(source), heldout_list, holdout,
                                        split_seed, notes, generative)
    if recorded and recorded.get("heldout_sha256") and train is not None and heldout_list is None:
        names = "\n".join(sorted(Path(f).name for f in real.files))
        if hashlib.sha256(names.encode()).hexdigest() != recorded["heldout_sha256"]:
            notes.append(f"the held-out images differ from the {recorded.get('heldout_images')} recorded when the "
                         "model was trained (another data folder, or files added or removed): some may have "
                         "trained it")
    elif recorded and recorded.get("holdout") == 0 and generative:
        notes.append("the model was trained on all of its data (no held-out split was recorded): the real images "
                     "may include its training images")
    out = Path(out) if out is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    details: dict[str, Any] = {"held_out": train is not None, "real_images": len(real)}
    files: list[str] = []
    if generative:
        figures = _generative(pipe, real, train, num_samples, inception_weights, truncations, memorization_samples,
                              batch_size, seed, progress, out, details, files, notes)
    else:
        figures = {}
        if task.evaluate is not None:
            figures = task.evaluate(net, real, batch_size=batch_size, progress=progress)
        else:
            notes.append(f"task {net.task!r} (plugin {task.plugin!r}) registers no figures of its own; "
                         "see examples.png")
        if paired:  # known answers: each direction against the partner file (inside/outside masks/ if given)
            for direction in ("BtoA", "AtoB"):
                known = paired_metrics(net, real, batch_size=batch_size, progress=progress, direction=direction)
                figures.update({f"known_{direction}_{name}": value for name, value in known.items()})
            notes.append("--paired: known_<direction>_* score each output against the partner file of the same "
                         "name (copy_* is the unchanged input against it); l1_in_mask / l1_outside_mask split "
                         "by masks/")
        if out is not None:  # inputs and outputs of the first 8 real images, rows as in a run's samples/
            from zoo.training.samples import grid_image, sample_grid

            grid_image(sample_grid(net, real)).save(out / "examples.png")
            files.append("examples.png")
    report = EvaluationReport(model=str(model if source is not None else net.model_id), task=net.task, data=str(data),
                              real_set=real_set, figures=figures, details=details, notes=notes, files=files,
                              command=command)
    if out is not None:
        report.to_json(out / "report.json")
        (out / "report.md").write_text(report.markdown(), encoding="utf-8")
        report.files += ["report.json", "report.md"]
    return report


def _generate(pipe, n: int, real: TrainingData, seed: int, truncation, batch_size: int, progress: bool) -> torch.Tensor:
    if task_of(pipe.model).labelled:  # like for like: the real set's labels, cycled
        labels = real.tensors["label"].long().tolist()
        return pipe(num_images=n, labels=labels, seed=seed, truncation=truncation, batch_size=batch_size,
                    progress=progress).tensors
    return pipe(num_images=n, seed=seed, truncation=truncation, batch_size=batch_size, progress=progress).tensors


REAL_FEATURES: dict[tuple[str, str], torch.Tensor] = {}
"""(Inception weights file, the real images' SHA-1) -> their features: each real set (held-out
images, the floor's training images) is extracted once per process, however many models are
scored against it. A caller may fill or save it (bench/fid_table.py keeps it on disk)."""


def _real_features(weights, extractor, images: torch.Tensor, batch_size: int, device, progress: bool) -> torch.Tensor:
    """Features of real images, remembered for the process: evaluating several models against one
    held-out set (bench/fid_table.py) extracts its features once."""
    key = (str(weights), hashlib.sha1(images.numpy().tobytes()).hexdigest())
    if key not in REAL_FEATURES:
        if len(REAL_FEATURES) >= 16:
            REAL_FEATURES.pop(next(iter(REAL_FEATURES)))
        REAL_FEATURES[key] = extract_features(extractor, images, batch_size=batch_size, device=device,
                                              progress=progress)
    return REAL_FEATURES[key]


def _generative(pipe, real, train, num_samples, inception_weights, truncations, memorization_samples, batch_size,
                seed, progress, out, details, files, notes) -> dict[str, float]:
    real_images = _unit(real.tensors["image"])
    fake = _generate(pipe, num_samples, real, seed, None, batch_size, progress).float().cpu()
    figures: dict[str, float] = {}
    swd = laplacian_swd(fake, real_images, seed=seed)
    figures["swd"] = swd["mean"]
    figures.update({f"swd_{level}px": value for level, value in swd.items() if level != "mean"})
    # The real-data floor: as many real *training* images as samples, scored the same way against the
    # same held-out images. A generator that matched the data perfectly would score about this.
    floor = None
    if train is not None:
        pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:len(fake)]
        floor = _unit(train.tensors["image"][pick])
        figures["floor_swd"] = laplacian_swd(floor, real_images, seed=seed)["mean"]
        details["floor_images"] = len(floor)

    weights = configured_weights(inception_weights)
    features = None
    if weights:
        extractor = load_feature_extractor(weights)
        real_f = _real_features(weights, extractor, real_images, batch_size, pipe.device, progress)
        fake_f = extract_features(extractor, fake, batch_size=batch_size, device=pipe.device, progress=progress)
        figures["fid"] = fid(fake_f, real_f)
        k = kid(fake_f, real_f, subset_size=min(1000, len(real_f), len(fake_f)), seed=seed)
        figures["kid"], figures["kid_std"] = k.mean, k.std
        pr = precision_recall(real_f, fake_f)
        figures["precision"], figures["recall"] = pr.precision, pr.recall
        if floor is not None:
            floor_f = _real_features(weights, extractor, floor, batch_size, pipe.device, progress)
            figures["floor_fid"] = fid(floor_f, real_f)
            figures["floor_kid"] = kid(floor_f, real_f, subset_size=min(1000, len(real_f), len(floor_f)),
                                       seed=seed).mean
            floor_pr = precision_recall(real_f, floor_f)
            figures["floor_precision"], figures["floor_recall"] = floor_pr.precision, floor_pr.recall
        features, details["features"] = (real_f, fake_f), f"Inception-v3 pool features from {weights}"
    else:
        notes.append(f"FID, KID, precision and recall skipped: no Inception weights file (--inception-weights PATH "
                     f"or {ENV_VAR}); SWD needs none")
    if out is not None:
        from zoo.evaluate.views import feature_scatter

        if features is None:  # still worth a look: thumbnails as features, said on the plot
            features = tuple(F.interpolate(x, size=(PIXEL_FEATURE_SIZE,) * 2, mode="area").flatten(1)
                             for x in (real_images, fake))
            details["features"] = f"{PIXEL_FEATURE_SIZE} x {PIXEL_FEATURE_SIZE} pixel thumbnails (no Inception file)"
        feature_scatter(*features, out / "scatter.png", title=f"real vs generated ({details['features']})")
        files.append("scatter.png")

    if train is not None and memorization_samples:
        from zoo.evaluate.memorization import memorization_audit

        m = min(memorization_samples, len(fake), len(real_images))
        train_images = _unit(train.tensors["image"])
        audit = memorization_audit(fake[:m], train_images, real_images[:m], progress=progress,
                                   compare_size=min(64, *train_images.shape[-2:]),
                                   candidates=100 if len(train_images) > 2000 else None)
        summary = audit.summary()
        details["memorization"] = summary
        figures["memorization_flagged_fraction"] = len(audit.flagged) / m
        figures["nearest_train_ssim_median"] = float(audit.samples.ssim.median())
        figures["heldout_nearest_train_ssim_median"] = float(audit.heldout.ssim.median())
        if out is not None:
            audit.histogram(out / "memorization.png")
            audit.closest_pairs_grid(out / "closest_pairs.png")
            files += ["memorization.png", "closest_pairs.png"]

    if truncations and hasattr(pipe.model, "sample_latents"):
        from zoo.evaluate.views import truncation_sweep

        n = min(num_samples, 500)
        details["truncation_sweep"] = truncation_sweep(
            lambda t: _generate(pipe, n, real, seed, t, batch_size, False).float().cpu(),
            lambda images: laplacian_swd(images, real_images, seed=seed)["mean"], truncations, name="swd")
    details["samples"] = len(fake)
    return figures


def update_card(card_path: str | Path, report: EvaluationReport, dataset: str | None = None) -> Path:
    """Write ``report``'s figures into a model card (README.md): ``model-index`` eval results (a figure
    of the same name on the same data set is replaced) and a section with the Markdown report."""
    from huggingface_hub import EvalResult, ModelCard

    path = Path(card_path)
    if not path.is_file():
        raise FileNotFoundError(f"no model card at {path}; save the model with save_pretrained first")
    card = ModelCard.load(path)
    results = [r for r in (card.data.eval_results or [])]
    from zoo.hub.cards import slug

    new = [EvalResult(task_type=card.data.pipeline_tag or "image-to-image", dataset_type=slug(m.dataset),
                      dataset_name=m.dataset, metric_type=m.name.lower(), metric_name=m.name, metric_value=m.value)
           for m in report.metrics(dataset)]
    replaced = {(r.metric_name, r.dataset_name) for r in new}
    card.data.eval_results = [r for r in results if (r.metric_name, r.dataset_name) not in replaced] + new
    if not card.data.model_name:
        card.data.model_name = report.model
    start, end = CARD_SECTION
    text = card.text
    if start in text and end in text:
        text = text[:text.index(start)] + text[text.index(end) + len(end):].lstrip("\n")
    card.text = text.rstrip("\n") + f"\n\n{start}\n{report.markdown()}{end}\n"
    card.save(path)
    return path


# -- command line ------------------------------------------------------------------------------
def add_arguments(parser) -> None:
    from zoo.cli.types import positive_int

    parser.add_argument("model", help="model id, Hub repo id or local folder (a run's RUN/model uses RUN/heldout.txt)")
    parser.add_argument("--data", type=Path, required=True, help="real images, in the model's training layout")
    parser.add_argument("-n", "--num-samples", type=positive_int, default=1000, help="generated images (default 1000)")
    parser.add_argument("--inception-weights", type=Path, default=None,
                        help=f"local Inception-v3 file for FID/KID/precision/recall (or {ENV_VAR}); never downloaded")
    parser.add_argument("--heldout-list", type=Path, default=None, help="the held-out files (RUN/heldout.txt)")
    parser.add_argument("--holdout", type=float, default=0.0, help="or a held-out fraction, split as zoo train does")
    parser.add_argument("--group-column", default=None, help="labels.csv column grouping shots (lesion_id)")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the --holdout split (default 0)")
    parser.add_argument("--label-column", default="dx", help="labels.csv column holding the class (default dx)")
    parser.add_argument("--truncations", nargs="+", default=["off", "2", "1", "0.5"], metavar="T",
                        help="truncation sweep thresholds ('off' = none; 'none' skips the sweep)")
    parser.add_argument("--memorization-samples", type=int, default=256, help="samples audited (0: skip the audit)")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="images a batch (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="sampling and subsampling seed (default 0)")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: where the model loads, cpu)")
    parser.add_argument("--update-card", action="store_true",
                        help="write the figures into the model card: the folder's README.md for a local model, "
                             "else OUT/README.md")
    parser.add_argument("--paired", action="store_true",
                        help="unpaired models: DATA's A/B files pair up by name (a known answer, e.g. "
                             "make_domains.py's pws-removal-check): score each direction against its partner too")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("-o", "--out", type=Path, required=True, help="report folder")


def _truncations(values: list[str]) -> list[float | None]:
    if [v.lower() for v in values] == ["none"]:
        return []
    out = []
    for v in values:
        if v.lower() == "off":
            out.append(None)
            continue
        try:
            t = float(v)
        except ValueError:
            t = -1.0
        if not t > 0:
            raise ValueError(f"--truncations takes positive numbers or 'off', got {v!r}")
        out.append(t)
    return out


def run_cli(args) -> int:
    import shlex
    import sys

    args.out.mkdir(parents=True, exist_ok=True)  # a bad output path fails before any work
    command = "zoo " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["evaluate"] else None
    report = evaluate(
        args.model, args.data, num_samples=args.num_samples, inception_weights=args.inception_weights,
        heldout_list=args.heldout_list, holdout=args.holdout, group_column=args.group_column,
        split_seed=args.split_seed, label_column=args.label_column, truncations=_truncations(args.truncations),
        memorization_samples=args.memorization_samples, batch_size=args.batch_size, seed=args.seed,
        device=args.device, progress=not args.no_progress, out=args.out, paired=args.paired,
        command=command or f"zoo evaluate {args.model} --data {args.data} -o {args.out}",
    )
    print(report.markdown())
    if args.update_card:
        folder = Path(args.model)
        card = folder / "README.md" if (folder / "README.md").is_file() else None
        if card is None:
            import zoo
            from zoo.hub.cards import render_model_card

            card = args.out / "README.md"
            render_model_card(zoo.load(args.model).model).save(card)
        update_card(card, report)
        print(f"model card updated: {card}")
    print(f"wrote {args.out / 'report.json'} and {', '.join(f for f in report.files if f != 'report.json')}")
    return 0
