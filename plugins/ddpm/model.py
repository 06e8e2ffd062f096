"""A denoising diffusion baseline: diffusers' ``UNet2DModel`` trained with the DDPM noise-prediction
loss, sampled with DPM-Solver++ (deterministic, so a seed and a starting noise give one image).

diffusers is imported inside the methods, never at module level: listing the zoo (``zoo.list_models``)
imports every plugin module, and ``import zoo`` must stay light.

The "latent" of a sample is its starting noise, flattened to ``channels * H * W`` numbers: the
pipelines' seeds, batches and latent walks (``pipe.interpolate``) work on it as on a GAN's latent.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from zoo.errors import ZooError
from zoo.models.base import GANModel
from zoo.models.blocks import as_size
from zoo.models.latents import sample_normal

__all__ = ["DDPM", "ClassConditionalDDPM"]

SAMPLERS = ("dpmsolver++", "ddim")
PREDICTIONS = ("v_prediction", "epsilon")


def _unet(image_size, channels, block_out_channels, layers_per_block, attention_levels, num_class_embeds):
    from diffusers import UNet2DModel

    levels = range(len(block_out_channels))
    down = tuple("AttnDownBlock2D" if i in attention_levels else "DownBlock2D" for i in levels)
    up = tuple("AttnUpBlock2D" if i in attention_levels else "UpBlock2D" for i in reversed(levels))
    return UNet2DModel(
        sample_size=tuple(image_size), in_channels=channels, out_channels=channels,
        block_out_channels=tuple(block_out_channels), layers_per_block=layers_per_block,
        down_block_types=down, up_block_types=up, num_class_embeds=num_class_embeds,
        norm_num_groups=math.gcd(32, *block_out_channels),  # 32 groups as in DDPM; fewer for narrow test nets
    )


class DDPM(GANModel):
    """Unconditional diffusion on ``image_size`` images; the network is ``unet`` (no discriminator).

    ``patch_size`` p folds each p x p block of pixels into channels before the U-Net (and unfolds its
    output), as DiT and latent-diffusion models run on a smaller grid: at p = 2 a 64 px image is a
    32 x 32 grid of 12 channels, about 3 x cheaper a step on a CPU than the full-resolution U-Net.
    ``attention_levels`` are the indices of ``block_out_channels`` whose blocks carry self-attention
    (the coarsest by default). ``beta_schedule`` is a diffusers name; ``squaredcos_cap_v2`` is the
    cosine schedule of Nichol & Dhariwal (2021), which wastes fewer steps on near-pure noise at 64 px.
    """

    family: ClassVar[str] = "ddpm"
    task: ClassVar[str] = "unconditional"
    inference_networks: ClassVar[tuple[str, ...]] = ("unet",)
    adversarial: ClassVar[bool] = False

    def __init__(
        self,
        image_size: tuple[int, int] = (64, 64),
        channels: int = 3,
        patch_size: int = 2,
        block_out_channels: tuple[int, ...] = (64, 96, 128),
        layers_per_block: int = 1,
        attention_levels: tuple[int, ...] = (2,),
        num_train_timesteps: int = 1000,
        beta_schedule: str = "squaredcos_cap_v2",
        prediction_type: str = "v_prediction",
        sampler: str = "dpmsolver++",
        num_inference_steps: int = 25,
    ):
        super().__init__()
        if prediction_type not in PREDICTIONS:
            raise ValueError(f"prediction_type must be one of {PREDICTIONS}, got {prediction_type!r}")
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
        if not 0 < num_inference_steps <= num_train_timesteps:
            raise ValueError(f"num_inference_steps must be in 1..{num_train_timesteps}, got {num_inference_steps}")
        size = as_size(image_size)
        levels = len(block_out_channels)
        if any(not 0 <= i < levels for i in attention_levels):
            raise ValueError(f"attention_levels {list(attention_levels)} must index block_out_channels "
                             f"(0..{levels - 1})")
        if patch_size < 1:
            raise ValueError(f"patch_size must be at least 1, got {patch_size}")
        # The patches and each U-Net level halve the grid: any other size is padded up to a multiple.
        self._multiple = patch_size * 2 ** (levels - 1)
        grid = tuple(-(-side // self._multiple) * self._multiple // patch_size for side in size)
        self.unet = _unet(grid, channels * patch_size**2, block_out_channels, layers_per_block,
                          set(attention_levels), self._num_class_embeds())

    def _num_class_embeds(self) -> int | None:
        return None

    # -- noise schedule ----------------------------------------------------------------------
    def _train_schedule(self):
        from diffusers import DDPMScheduler

        cfg = self.config
        return DDPMScheduler(num_train_timesteps=cfg["num_train_timesteps"], beta_schedule=cfg["beta_schedule"],
                             prediction_type=cfg["prediction_type"])

    def _sampler(self, num_inference_steps: int):
        from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

        cfg = self.config
        common = {"num_train_timesteps": cfg["num_train_timesteps"], "beta_schedule": cfg["beta_schedule"],
                  "prediction_type": cfg["prediction_type"]}
        if cfg["sampler"] == "ddim":
            sched = DDIMScheduler(**common, clip_sample=True)
        else:
            # Dynamic thresholding (Imagen) keeps each step's estimate of the clean image inside [-1, 1]:
            # without it an under-trained model's estimates run off to saturated colours.
            sched = DPMSolverMultistepScheduler(**common, algorithm_type="dpmsolver++", solver_order=2,
                                                thresholding=True, sample_max_value=1.0)
        sched.set_timesteps(num_inference_steps)
        return sched

    def predict_noise(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The U-Net's noise estimate for images ``x`` at timesteps ``t``, in pixel space."""
        p, (h, w) = self.config["patch_size"], x.shape[-2:]
        pad_h, pad_w = -h % self._multiple, -w % self._multiple
        if pad_h or pad_w:  # edge pixels repeated; the estimate for them is cropped away below
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        out = self.unet(F.pixel_unshuffle(x, p) if p > 1 else x, t, class_labels=labels).sample
        return (F.pixel_shuffle(out, p) if p > 1 else out)[..., :h, :w]

    # -- the pipelines' side -----------------------------------------------------------------
    def sampling_options(self) -> dict[str, Any]:
        return {"num_inference_steps": int(self.config["num_inference_steps"])}

    def sample_latents(self, n: int, generator: torch.Generator, truncation: float | None = None) -> torch.Tensor:
        h, w = self.image_size
        return sample_normal((n, self.channels * h * w), generator, truncation)

    def denoise(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The prediction one sampling step uses (a conditional family adds guidance here)."""
        return self.predict_noise(x, t, labels)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                 num_inference_steps: int | None = None, **denoise_options) -> torch.Tensor:
        """Images in [-1, 1] from starting noises ``z`` (N x C*H*W), denoised in ``num_inference_steps``."""
        steps = int(num_inference_steps or self.config["num_inference_steps"])
        if not 0 < steps <= self.config["num_train_timesteps"]:
            raise ValueError(f"num_inference_steps must be in 1..{self.config['num_train_timesteps']}, got {steps}")
        sched = self._sampler(steps)
        x = z.reshape(len(z), self.channels, *self.image_size).float()
        for t in sched.timesteps:
            prediction = self.denoise(x.to(self.dtype), t, labels, **denoise_options).float()
            x = sched.step(prediction, t, x).prev_sample
        return x.clamp(-1, 1).to(self.dtype)

    # -- training ----------------------------------------------------------------------------
    def configure_optimizers(self, lr: float = 5e-4, betas: tuple[float, float] = (0.9, 0.999), **adam) -> dict:
        # 5e-4, not DDPM's 2e-4: CPU budgets are thousands of steps, not hundreds of thousands. On the
        # tiny synthetic set of tests/test_learning.py, 300 steps bring the sliced Wasserstein distance
        # from 0.49 to 0.093 at 5e-4 and to 0.187 at 2e-4.
        return {"unet": torch.optim.Adam(self.unet.parameters(), lr=lr, betas=betas, **adam)}

    def diffusion_loss(self, real: torch.Tensor, ctx, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The DDPM loss: predict the noise added at a uniformly drawn timestep.

        Noise and timesteps come from ``ctx.noise`` (the trainer's per-step global draw), so a
        resumed run and an N-process run see exactly the noise a 1-process run does.
        """
        n = real.shape[0]
        eps = ctx.noise(n, real[0].numel()).reshape_as(real)
        t_count = self.config["num_train_timesteps"]
        # A Gaussian draw through its CDF is uniform on (0, 1): uniform timesteps from the same stream.
        t = (torch.special.ndtr(ctx.noise(n, 1).float().squeeze(1)) * t_count).long().clamp_(0, t_count - 1)
        t = t.to(real.device)
        schedule = self._train_schedule()
        noisy = schedule.add_noise(real.float(), eps.float(), t).to(real.dtype)
        target = eps if self.config["prediction_type"] == "epsilon" else schedule.get_velocity(real, eps, t)
        return F.mse_loss(self.predict_noise(noisy, t, labels).float(), target.float())

    def training_step(self, batch: dict[str, torch.Tensor], optimizers: dict, ctx) -> dict[str, float]:
        optimizers["unet"].zero_grad(set_to_none=True)
        loss = self.diffusion_loss(batch["image"], ctx, batch.get("label") if self._num_class_embeds() else None)
        ctx.backward(loss)
        optimizers["unet"].step()
        return {"loss": loss.item()}

    def discriminator_logits(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        raise ZooError(f"{self.model_id or self.family} is a diffusion model: it has no discriminator "
                                  "to watch for over-fitting (leave out --d-overfit-every)")


class ClassConditionalDDPM(DDPM):
    """:class:`DDPM` with a class embedding added to the timestep embedding (diffusers' ``num_class_embeds``),
    sampled with classifier-free guidance (Ho & Salimans, 2022).

    In training, each label is replaced by a "no class" embedding with probability ``label_dropout``,
    so one network learns both the class-conditional and the unconditional prediction; a sampling
    step then extrapolates from the second past the first by ``guidance_scale`` (1: no guidance,
    larger: samples more typical of their class, less varied). ``guidance_scale`` is also a
    pipeline argument: ``pipe(labels=["mel"], guidance_scale=3.0)``.
    """

    task: ClassVar[str] = "class-conditional"

    def __init__(
        self,
        image_size: tuple[int, int] = (64, 64),
        channels: int = 3,
        class_names: tuple[str, ...] = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"),
        patch_size: int = 2,
        block_out_channels: tuple[int, ...] = (64, 96, 128),
        layers_per_block: int = 1,
        attention_levels: tuple[int, ...] = (2,),
        num_train_timesteps: int = 1000,
        beta_schedule: str = "squaredcos_cap_v2",
        prediction_type: str = "v_prediction",
        sampler: str = "dpmsolver++",
        num_inference_steps: int = 25,
        label_dropout: float = 0.1,
        guidance_scale: float = 2.0,
    ):
        if not class_names:
            raise ValueError("class_names is empty; a class-conditional model needs at least one class")
        if not 0 <= label_dropout < 1:
            raise ValueError(f"label_dropout must be in [0, 1), got {label_dropout}")
        super().__init__(image_size, channels, patch_size, block_out_channels, layers_per_block, attention_levels,
                         num_train_timesteps, beta_schedule, prediction_type, sampler, num_inference_steps)

    def _num_class_embeds(self) -> int | None:
        return len(self.config["class_names"]) + 1  # the last index: "no class", for guidance

    def sampling_options(self) -> dict[str, Any]:
        return {**super().sampling_options(), "guidance_scale": float(self.config["guidance_scale"])}

    def diffusion_loss(self, real: torch.Tensor, ctx, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is None:
            raise ValueError("a class-conditional model trains on labelled images")
        # Drawn from the trainer's per-step stream like the noise: resumes and N processes agree.
        drop = torch.special.ndtr(ctx.noise(len(labels), 1).float().squeeze(1)) < self.config["label_dropout"]
        labels = torch.where(drop.to(labels.device), len(self.config["class_names"]), labels)
        return super().diffusion_loss(real, ctx, labels)

    def denoise(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None,
                guidance_scale: float | None = None) -> torch.Tensor:
        scale = float(self.config["guidance_scale"] if guidance_scale is None else guidance_scale)
        if scale == 1.0:
            return self.predict_noise(x, t, labels)
        unconditional = torch.full_like(labels, len(self.config["class_names"]))
        cond, uncond = self.predict_noise(torch.cat([x, x]), t, torch.cat([labels, unconditional])).chunk(2)
        return uncond + scale * (cond - uncond)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                 num_inference_steps: int | None = None, guidance_scale: float | None = None) -> torch.Tensor:
        if labels is None:
            raise ValueError("a class-conditional model needs one class label per latent")
        if guidance_scale is not None and guidance_scale < 0:
            raise ValueError(f"guidance_scale must be >= 0 (1: no guidance), got {guidance_scale}")
        return super().generate(z, labels, num_inference_steps, guidance_scale=guidance_scale)
