"""The SN-GAN family plugin: registers ``sngan-lesions``."""

from __future__ import annotations

from pathlib import Path

from zoo import Metric, ModelSpec, hookimpl

from .model import SNGAN

WEIGHTS = Path(__file__).parent / "embedded-weights"  # not an identifier: data, not a package
COMMAND = ("zoo train --model sngan-lesions --data ../shared/data/ham10000 --out runs/sngan --steps 2000 "
           "--ema 0.999 --group-column lesion_id --holdout 0.1")


@hookimpl
def zoo_register_models(registry):
    registry.register(
        ModelSpec(
            id="sngan-lesions",
            model_class=SNGAN,
            modality="dermoscopy",
            description=(
                "SN-GAN for 64 x 64 dermoscopic skin-lesion images: spectral normalisation on every "
                "discriminator layer (no batch norm there), hinge loss, a DCGAN-style generator with a "
                "128-d latent and 256 maps at 4 x 4, Adam(2e-4, betas 0, 0.9)."
            ),
            training_data=(
                "HAM10000 (Tschandl et al., Sci. Data 2018; CC BY-NC-SA 4.0), its public training part: 5,984 "
                "dermoscopy images (128 x 128 JPEG, stretched from 600 x 450), resized to 64 x 64. 599 images "
                "(10 %, split by lesion_id so no lesion is on both sides) were held out; the other 5,385 "
                f"trained the model for 2,000 steps at batch 32 (about 12 epochs, seed 0, CPU) with `{COMMAND}`. "
                "The embedded generator is the EMA (decay 0.999). All seven diagnostic classes are mixed; "
                "nevi are 72 % of the data."
            ),
            datasets=("HAM10000",),
            license="cc-by-nc-sa-4.0",
            trained=True,
            metrics=(
                Metric(
                    name="SWD", value=0.0198,
                    dataset="HAM10000 held-out split (512 of 599 images, lesion_id, split seed 0)",
                    command="python bench/heldout_swd.py sngan-lesions --data ../shared/data/ham10000 "
                            "--group-column lesion_id",
                ),
            ),
            weights=WEIGHTS / "sngan-lesions",
            intended_use=(
                "Research on synthetic data for dermatology: augmentation experiments and the comparison of "
                "GAN families on skin lesions."
            ),
            limitations=(
                "A short CPU training run (2,000 steps): samples are blurry lesion-like blobs on skin, some "
                "with a faint grid texture, and lack the fine dermoscopic structure (networks, dots, "
                "streaks) a dermatologist reads. At 64 x 64 much of that is lost anyway. Samples mirror "
                "HAM10000's class imbalance (mostly nevi) and its population (mostly light skin), and may "
                "reproduce training images; no memorisation audit has been run yet. The SWD below is a "
                "pixel-space distance (lower is closer; the untrained DCGAN placeholder scores 0.167); FID "
                "comes with the evaluation release."
            ),
        )
    )
