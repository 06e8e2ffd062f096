"""The diffusion family (ddpm-lesions): diffusers inside the zoo's pipelines, trainer and CLI.

What every family gets is tested over the registry elsewhere (save/load, odd sizes, learning on
a synthetic set); this file holds what is the diffusion family's own.
"""

import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import tiny
from PIL import Image
from test_learning import LESION_COLOURS, synthetic_labelled_lesions

import zoo
from zoo.cli import main
from zoo.cli.train import main as train_main
from zoo.data import TrainingData
from zoo.training import Trainer, train_steps

pytestmark = pytest.mark.usefixtures("one_thread")


def test_num_inference_steps_is_a_pipeline_argument():
    pipe = zoo.pipeline_for(tiny("ddpm-lesions"))
    assert pipe.model.sampling_options() == {"num_inference_steps": 10}  # the tiny entry's default
    default = pipe(num_images=2, seed=0).tensors
    assert torch.equal(default, pipe(num_images=2, seed=0, num_inference_steps=10).tensors)
    three = pipe(num_images=2, seed=0, num_inference_steps=3).tensors
    torch.testing.assert_close(three, pipe(num_images=2, seed=0, num_inference_steps=3, batch_size=1).tensors,
                               rtol=0, atol=1e-5)  # batch size changes float summation order only
    assert not torch.equal(three, default)
    with pytest.raises(ValueError, match="num_inference_steps must be in 1..100, got 1000"):
        pipe(num_images=1, num_inference_steps=1000)


def test_a_gan_pipeline_names_the_sampling_option_it_lacks():
    pipe = zoo.pipeline_for(tiny("sngan-lesions"))
    with pytest.raises(TypeError, match="sngan-lesions has no sampling option num_inference_steps: it takes none"):
        pipe(num_images=1, num_inference_steps=5)
    with pytest.raises(TypeError, match="its options are \\['num_inference_steps'\\]"):
        zoo.pipeline_for(tiny("ddpm-lesions"))(num_images=1, guidance=2.0)


def test_listing_the_zoo_does_not_import_diffusers():
    code = "import sys, zoo; zoo.list_models(); zoo.info('ddpm-lesions'); print('diffusers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_diffusion_run_resumes_bit_for_bit_with_its_ema(tmp_path):
    data = TrainingData({"image": torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8)})

    def trainer():
        return Trainer(tiny("ddpm-lesions"), data, batch_size=4, accelerator=None, progress=False, ema_decay=0.9)

    straight = trainer()
    list(straight.steps(4))
    first = trainer()
    list(first.steps(2))
    checkpoint = first.save_checkpoint(tmp_path / "checkpoints")
    second = trainer()
    second.load_checkpoint(checkpoint)
    list(second.steps(4))
    a, b = straight.export_model(), second.export_model()  # the EMA U-Net, as zoo train saves it
    assert a.unet.state_dict().keys() == b.unet.state_dict().keys()
    assert all(torch.equal(x, y) for x, y in zip(a.unet.state_dict().values(), b.unet.state_dict().values()))
    assert not torch.equal(next(a.unet.parameters()), next(tiny("ddpm-lesions").unet.parameters()))


def test_cli_trains_generates_with_fewer_steps_and_refuses_gan_only_options(lesion_folder, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["--model", "ddpm-lesions", "--data", str(lesion_folder), "--out", str(run), "--batch-size", "8",
            "--log-with", "none", "--no-progress", *sum((["--set", f"{k}={v}"] for k, v in {
                "image_size": "[16,16]", "block_out_channels": "[32,64]", "attention_levels": "[1]",
                "num_train_timesteps": "100", "num_inference_steps": "10"}.items()), [])]
    assert train_main([*args, "--holdout", "0.25", "--d-overfit-every", "2", "--steps", "2"]) == 2
    assert "leave the option out" in capsys.readouterr().err
    assert train_main([*args, "--steps", "2"]) == 0
    assert sorted(p.name for p in (run / "model").glob("*.safetensors")) == ["unet.safetensors"]
    assert main(["generate", str(run / "model"), "-n", "2", "-o", str(tmp_path / "out"),
                 "--num-inference-steps", "4"]) == 0
    written = sorted((tmp_path / "out").glob("*.png"))
    expected = zoo.load(str(run / "model"))(num_images=2, seed=0, num_inference_steps=4).tensors
    got = torch.stack([torch.from_numpy(np.array(Image.open(p))).permute(2, 0, 1) for p in written])
    assert (got.float() / 255 - expected).abs().max() <= 1 / 255 + 1e-6  # the pipeline's images, 8-bit
    gan = ["generate", "sngan-lesions", "-n", "1", "-o", str(tmp_path / "gan"), "--num-inference-steps", "4"]
    assert main(gan) == 2
    assert "takes no such option" in capsys.readouterr().err


@pytest.mark.slow
def test_the_class_conditional_variant_learns_each_class_colour():
    """ClassConditionalDDPM (diffusers' class embedding) on 3 lesion colours: each class's samples
    take their class's lesion colour, judged by the darkest pixels of each sample."""
    from medgan_zoo_plugins.ddpm.model import ClassConditionalDDPM

    torch.manual_seed(0)
    model = ClassConditionalDDPM(image_size=(16, 16), class_names=("brown", "red", "blue"),
                                 **{k: v for k, v in zoo.info("ddpm-lesions").tiny.items() if k != "image_size"})
    model.model_id = "ddpm-conditional-test"
    images, labels = synthetic_labelled_lesions(384)
    train_steps(model, images, steps=400, batch_size=32, progress=False, labels=labels)
    pipe = zoo.pipeline_for(model)

    def lesion_colour(x: torch.Tensor) -> torch.Tensor:
        """Mean colour of each image's 12 least skin-like pixels (the smallest lesion covers 7 % of 256)."""
        far = (x - torch.tensor([0.85, 0.65, 0.55]).view(1, 3, 1, 1)).abs().sum(1).flatten(1)
        idx = far.topk(12, dim=1).indices
        return torch.stack([x[i].flatten(1)[:, idx[i]].mean(1) for i in range(len(x))])

    def hit_rate(x: torch.Tensor, k: int) -> float:
        return (torch.cdist(lesion_colour(x), LESION_COLOURS).argmin(1) == k).float().mean().item()

    real = [hit_rate((images[labels == k][:32] + 1) / 2, k) for k in range(3)]
    hits = [hit_rate(pipe(num_images=32, labels=[k], seed=k).tensors, k) for k in range(3)]
    print(f"lesion colour nearest the class's: samples {[round(h, 2) for h in hits]}, "
          f"real {[round(r, 2) for r in real]}")
    unguided = [hit_rate(pipe(num_images=32, labels=[k], seed=k, guidance_scale=1.0).tensors, k) for k in range(3)]
    print(f"without guidance: {[round(h, 2) for h in unguided]}")
    assert min(real) > 0.9  # the judge reads real images right
    assert min(hits) > 0.7 and sum(hits) > sum(unguided)  # guidance makes samples more typical of their class
