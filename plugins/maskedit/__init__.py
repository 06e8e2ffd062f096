"""The mask-guided editor family: ``eczema-remove``, ``eczema-add``, ``lesion-remove``, ``lesion-add``.

One model edits in one direction; the ids of a pair differ only in ``direction``.
"""

from __future__ import annotations

from pathlib import Path

from zoo import Metric, ModelSpec, hookimpl

from .model import MaskGuidedEditor

WEIGHTS = Path(__file__).parent / "embedded-weights"  # not an identifier: data, not a package

DESIGN = (
    "The generator reads the image and a binary mask (4 channels) and returns the image plus a generated "
    "residual: a U-Net with a 7x7 stem, 2 strided convs, 4 residual blocks at quarter resolution and 2 "
    "transposed convs joined to the encoder outputs (32 base features, instance norm), its last layer "
    "zero-initialised so an untrained model changes nothing. Losses: LSGAN on a 2-scale PatchGAN whose "
    "real and fake examples are patches weighted by the pooled mask, plus 10 x the MSE between input and "
    "output outside the mask (relevancy). "
)
ECZEMA_DATA = (
    "SYNTHETIC eczema: python scripts/make_domains.py --faces ../shared/data/faces --ph2 ../shared/data/ph2 --out "
    "data/synthetic --size 128 --patch-size 128 --seed 0 makes eczema-masked/: 257 skin patches (from the faces' "
    "cheeks, CelebA: non-commercial research use only, and the skin around PH2 lesions) with procedural "
    "eczema-like overlays and their masks, plus 258 other healthy patches in healthy/. No public eczema "
    "photographs with masks exist here. 10 % (26 patches) were held out (--holdout 0.1); the rest trained "
    "{steps} steps at batch 8 (seed 0, 7 min, eight runs sharing one H100): bash scripts/train_i2i.sh "
    "../shared/data runs/i2i 7:00, i.e. zoo train --model {id} --data runs/i2i/synthetic/eczema-masked --out "
    "runs/i2i/{id} --steps 20000 --max-time 7:00 --batch-size 8 --holdout 0.1. Stored as float16.")
ECZEMA_LOOK = {
    "remove": "Looked at (held-out patches): the red overlay is replaced by beige-grey skin texture, with dark specks "
              "and faint outlines of the removed blotches left in places.",
    "add": "Looked at (held-out healthy patches): red eczema-like texture fills the painted mask, with a few "
           "green-tinted specks at its edges.",
}
ECZEMA_FIGURES = {"remove": (0.0194, 0.1105, 4410), "add": (0.0182, 0.0952, 4414)}  # outside, inside, steps
PH2_DATA = ("PH2 (Mendonca et al., EMBC 2013; research and education use): {n_train} dermoscopy images with "
            "their lesion masks, resized to 128 x 128 (../shared/data/ph2 holds 160; 24 held out, --holdout 0.15). "
            "No healthy/ folder: PH2 has no lesion-free image. Trained {steps} steps at batch 8 on one core of a 2-core "
            "CPU ({minutes} min, the other core training the other lesion id; seed 0): zoo train --model {id} --data ../shared/data/ph2 --out runs/{id} "
            "--batch-size 8 --holdout 0.15 --max-time {minutes}:00. Stored as float16.")
PH2_LOOK = {
    "remove": "Looked at (24 held-out images): most lesions become skin of about the right tone, with a blocky "
              "texture and a faint outline of the mask; a lesion that fills most of the image or reaches the "
              "border leaves brown streaks, and some fills are too pale. Colour: the untrained smooth fill alone "
              "is closer to the surrounding skin (0.041) but has no texture (0.001).",
    "add": "Looked at (24 held-out images with their lesions smoothed away): light-brown lesions of the mask's "
           "shape with faint concentric bands, smoother than real ones (texture 0.010 against 0.037); no pigment "
           "network, dots or globules as in real dermoscopy. The raw output tints the image corners green; the "
           "pipeline pastes the input back outside the mask.",
}
# zoo evaluate on the 24 held-out images (README, "What is trained, and how well").
PH2_FIGURES = {
    "remove": {"steps": 1076, "minutes": 68, "figures": {
        "fill_to_ring_distance": 0.0703, "ring_spread": 0.0537, "fill_detail": 0.0262, "ring_detail": 0.0251,
        "change_outside_mask": 0.0191}},
    "add": {"steps": 1081, "minutes": 70, "figures": {
        "added_to_lesion_colour": 0.1023, "input_to_lesion_colour": 0.2009, "added_detail": 0.0102,
        "lesion_detail": 0.0370, "change_outside_mask": 0.0313}},
}
PH2_METRIC_NAMES = {
    "remove": (("fill_to_ring_distance", "fill colour distance to the skin around the mask"),
               ("ring_spread", "the surrounding skin's own spread"),
               ("fill_detail", "fill fine texture (mean |Laplacian|)"),
               ("ring_detail", "the surrounding skin's fine texture"),
               ("change_outside_mask", "mean change outside the mask (raw output)")),
    "add": (("added_to_lesion_colour", "colour distance of the added lesion to the real one"),
            ("input_to_lesion_colour", "the same for the unedited input"),
            ("added_detail", "added lesion's fine texture (mean |Laplacian|)"),
            ("lesion_detail", "the real lesions' fine texture"),
            ("change_outside_mask", "mean change outside the mask (raw output)")),
}


def _ph2_metrics(model_id: str, direction: str) -> tuple[Metric, ...]:
    dataset = "PH2, 24 held-out images"
    command = f"zoo evaluate runs/{model_id}/model --data ../shared/data/ph2 -o reports/{model_id}"
    figures = PH2_FIGURES[direction]["figures"]
    return tuple(Metric(label, figures[key], dataset, command) for key, label in PH2_METRIC_NAMES[direction])


def _eczema_metrics(model_id: str, outside: float, inside: float) -> tuple[Metric, ...]:
    dataset = "synthetic eczema-masked, 26 held-out patches"
    command = f"zoo evaluate runs/i2i/{model_id}/model --data data/synthetic/eczema-masked -o reports/{model_id}"
    return (Metric("mean change outside the mask", outside, dataset, command),
            Metric("mean change inside the mask", inside, dataset, command))


# What PH2 needed (README, "Why the first PH2 runs failed"): the lesion hidden under a smooth fill
# from the skin around it, an output bound that keeps every pixel's gradient, resize up-sampling
# (no checkerboard), and for removal a 16-pixel discriminator field, so that PH2's narrow lesion-free
# border holds enough whole patches of healthy skin.
PH2_OPTIONS = {"prefill": True, "bound": "tanh", "upsample": "resize"}
PH2_REMOVE_OPTIONS = {**PH2_OPTIONS, "d_layers": 1}
PH2_DESIGN = ("For PH2: the masked pixels are first replaced by a smooth push-pull fill from the skin around "
              "them (prefill; masks grown by 2 % of the side), the residual is added inside a tanh (no pixel loses "
              "its gradient to a clamp), up-sampling is nearest-neighbour + conv{d}. ")


def _spec(model_id: str, direction: str, modality: str, what: str, data: str, options: dict | None = None,
          **card) -> ModelSpec:
    verb = "Removes" if direction == "remove" else "Adds"
    extra = ""
    if options:
        extra = PH2_DESIGN.format(d=", and the discriminator has 1 strided layer (16 px field)"
                                  if options.get("d_layers") == 1 else "")
    return ModelSpec(
        id=model_id,
        model_class=MaskGuidedEditor,
        modality=modality,
        description=(f"{verb} {what} inside a painted mask, 128 x 128 RGB. " + DESIGN + extra
                     + f"pipe(image, mask, mode={direction!r}); pixels outside the mask are returned unchanged."),
        defaults={"direction": direction, **(options or {})},
        training_data=data,
        **card,
    )


@hookimpl
def zoo_register_models(registry):
    eczema = dict(
        modality="skin photo patches (synthetic eczema)", license="other",
        intended_use="Research on mask-guided eczema editing (before/after illustrations). Not for diagnosis.",
    )
    lesion = dict(
        modality="dermoscopy", datasets=("PH2",), license="other",
        intended_use="Research on lesion removal/addition in dermoscopy (data augmentation, counterfactuals, "
                     "illustrations). Not for diagnosis.",
    )
    for direction in ("remove", "add"):
        model_id = f"eczema-{direction}"
        outside, inside, steps = ECZEMA_FIGURES[direction]
        registry.register(_spec(
            model_id, direction, what="eczema", data=ECZEMA_DATA.format(id=model_id, steps=f"{steps:,}"),
            trained=True, weights=WEIGHTS / model_id, metrics=_eczema_metrics(model_id, outside, inside),
            limitations=(f"A short run ({steps:,} steps) on a synthetic eczema domain; weights stored as float16. "
                         + ECZEMA_LOOK[direction] + " Outside the mask the raw output changes by "
                         f"{outside:.3f} on average (inside: {inside:.3f}); the pipeline pastes the input back "
                         "there, so those pixels come back unchanged."),
            **eczema))
        model_id, run = f"lesion-{direction}", PH2_FIGURES[direction]
        registry.register(_spec(
            model_id, direction, what="a pigmented skin lesion",
            data=PH2_DATA.format(id=model_id, n_train=136, steps=f"{run['steps']:,}", minutes=run["minutes"]),
            options=PH2_REMOVE_OPTIONS if direction == "remove" else PH2_OPTIONS,
            trained=True, weights=WEIGHTS / model_id, metrics=_ph2_metrics(model_id, direction),
            limitations=(f"A short CPU run ({run['steps']:,} steps at 128 x 128) on a small set (136 training images, "
                         "mostly light skin, one dermoscope); weights stored as float16. " + PH2_LOOK[direction]
                         + " Paint the mask a little beyond the lesion's edge (or grow_mask=3): the training masks "
                         "were grown by 2 %. Outside the mask the pipeline returns the input unchanged."),
            **lesion))
