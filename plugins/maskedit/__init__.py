"""The mask-guided editor family: ``eczema-remove``, ``eczema-add``, ``lesion-remove``, ``lesion-add``.

One model edits in one direction; the ids of a pair differ only in ``direction``.
"""

from __future__ import annotations

from zoo import ModelSpec, hookimpl

from .model import MaskGuidedEditor

DESIGN = (
    "The generator reads the image and a binary mask (4 channels) and returns the image plus a generated "
    "residual: a U-Net with a 7x7 stem, 2 strided convs, 4 residual blocks at quarter resolution and 2 "
    "transposed convs joined to the encoder outputs (32 base features, instance norm), its last layer "
    "zero-initialised so an untrained model changes nothing. Losses: LSGAN on a 2-scale PatchGAN whose "
    "real and fake examples are patches weighted by the pooled mask, plus 10 x the MSE between input and "
    "output outside the mask (relevancy). "
)
ECZEMA_DATA = ("No weights are published yet. The target data are synthetic eczema patches (zoo.domains: "
               "procedural eczema-like patches on healthy skin, with their masks) plus extra healthy patches "
               "in a healthy/ folder; no public eczema photographs with masks exist here.")
PH2_DATA = ("No weights are published yet. Intended training data: PH2 (Mendonca et al., EMBC 2013) dermoscopy "
            "images with lesion masks, as images/ + masks/ (../shared/data/ph2 holds 160), resized to 128 x 128; "
            "e.g. zoo train --model {id} --data ../shared/data/ph2 --out runs/{id}. PH2 has no lesion-free "
            "images: unless a healthy/ folder is added, the healthy skin D learns from is the skin around the "
            "lesions (patches outside the masks).")


def _spec(model_id: str, direction: str, modality: str, what: str, data: str, **card) -> ModelSpec:
    verb = "Removes" if direction == "remove" else "Adds"
    return ModelSpec(
        id=model_id,
        model_class=MaskGuidedEditor,
        modality=modality,
        description=(f"{verb} {what} inside a painted mask, 128 x 128 RGB. " + DESIGN
                     + f"pipe(image, mask, mode={direction!r}); pixels outside the mask are returned unchanged."),
        defaults={"direction": direction},
        training_data=data,
        **card,
    )


@hookimpl
def zoo_register_models(registry):
    eczema = dict(
        modality="skin photo patches (synthetic eczema)", license="other",
        intended_use="Research on mask-guided eczema editing (before/after illustrations). Not for diagnosis.",
        limitations="Untrained. The eczema domain is synthetic; outside the mask the raw output is only close to "
                    "the input, so the pipeline pastes the input back there.",
    )
    lesion = dict(
        modality="dermoscopy", datasets=("PH2",), license="other",
        intended_use="Research on lesion removal/addition in dermoscopy (data augmentation, counterfactuals). "
                     "Not for diagnosis.",
        limitations="Untrained. PH2 is a small set (200 images) of mostly light skin; without healthy images the removal "
                    "model only sees skin next to lesions as healthy.",
    )
    for direction in ("remove", "add"):
        registry.register(_spec(f"eczema-{direction}", direction, what="eczema", data=ECZEMA_DATA, **eczema))
        registry.register(_spec(f"lesion-{direction}", direction, what="a pigmented skin lesion",
                                data=PH2_DATA.format(id=f"lesion-{direction}"), **lesion))
