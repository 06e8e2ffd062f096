"""The AC-GAN family plugin: registers ``acgan-lesions``."""

from __future__ import annotations

from pathlib import Path

from zoo import Metric, ModelSpec, hookimpl

from .model import ACGAN

WEIGHTS = Path(__file__).parent / "embedded-weights"  # not an identifier: data, not a package
COMMAND = ("zoo train --model acgan-lesions --data ../shared/data/ham10000 --out runs/acgan --steps 4000 "
           "--batch-size 64 --ema 0.999 --augment translation,cutout --group-column lesion_id --holdout 0.2 "
           "--split-seed 0")
BENEFIT = "zoo evaluate-augmentation --data ../shared/data/ham10000 --model acgan-lesions -o reports/acgan"


@hookimpl
def zoo_register_models(registry):
    registry.register(
        ModelSpec(
            id="acgan-lesions",
            model_class=ACGAN,
            modality="dermoscopy",
            description=(
                "AC-GAN for 64 x 64 dermoscopic skin-lesion images of the seven HAM10000 classes (akiec, bcc, "
                "bkl, df, mel, nv, vasc): a 128-d latent joined to an 8-d class embedding, a DCGAN-style "
                "generator (256 maps at 4 x 4), a spectrally normalised discriminator with a real/fake logit "
                "and an auxiliary class head (cross-entropy on logits), hinge loss, class-balanced sampling, "
                "Adam(2e-4, betas 0, 0.9). For rare-class augmentation: "
                "zoo generate acgan-lesions --class df -n 200 -o out/."
            ),
            training_data=(
                "HAM10000 (Tschandl et al., Sci. Data 2018; CC BY-NC-SA 4.0), its public training part: 5,984 "
                "dermoscopy images (128 x 128 JPEG, stretched from 600 x 450), resized to 64 x 64, with their "
                "diagnosis (dx) as the class. 1,197 images (20 %, split by lesion_id with split seed 0, so no "
                "lesion is on both sides) were held out for evaluation; the other 4,787 (akiec 148, bcc 209, bkl "
                "479, df 50, mel 405, nv 3,432, vasc 64) trained the model for 4,000 steps at "
                f"batch 64 with class-balanced sampling (seed 0, one H100 GPU, 4.5 min) with `{COMMAND}`. The "
                "embedded generator is the EMA (decay 0.999)."
            ),
            datasets=("HAM10000",),
            license="cc-by-nc-sa-4.0",
            trained=True,
            metrics=(
                Metric(
                    name="SWD", value=0.0227,
                    dataset="HAM10000 held-out split (512 of 1,197 images, lesion_id, split seed 0; generated "
                            "with the same labels)",
                    command="python bench/heldout_swd.py acgan-lesions --data ../shared/data/ham10000 "
                            "--group-column lesion_id --holdout 0.2",
                ),
                *(
                    Metric(name=f"balanced accuracy of a small CNN, {condition}", value=value,
                           dataset="HAM10000 held-out split (1,197 images, lesion_id, split seed 0; mean of 3 seeds)",
                           command=BENEFIT)
                    for condition, value in (("real+classic", 0.470), ("real+classic+oversampled", 0.589),
                                             ("real+classic+synthetic", 0.521))
                ),
            ),
            weights=WEIGHTS / "acgan-lesions",
            intended_use=(
                "Research on synthetic data for dermatology: class-conditional augmentation of rare lesion "
                "classes, measured with zoo evaluate-augmentation. Not for diagnosis."
            ),
            limitations=(
                "A short training run (4,000 steps). Samples are blurry 64 x 64 lesion-like images whose "
                "colour and shape follow the class (vascular lesions red-purple, melanomas dark and irregular), "
                "without the fine dermoscopic structure (networks, dots, streaks) a dermatologist reads. The "
                "rare classes have few real examples (50 dermatofibromas, 64 vascular lesions in training), "
                "seen many times under class-balanced sampling: their samples are less varied and may be "
                "close to training images; no memorisation audit has been run yet. HAM10000 is mostly light "
                "skin. A classifier trained on the real images only (bench/class_fidelity.py) assigns 93 % of "
                "generated akiec, 80 % bcc, 66 % bkl, 31 % df, 15 % mel, 100 % nv and 83 % vasc images to the "
                "class asked for: melanoma and dermatofibroma samples are the least faithful. As augmentation "
                "(metrics below) the samples raise a small CNN's held-out balanced accuracy from 0.470 to 0.521, "
                "less than repeating the real rare-class images does (0.589). The SWD is a pixel-space distance "
                "(lower is closer)."
            ),
        )
    )
