"""What "the standard implementation" does on this machine: plain-PyTorch CycleGAN / pix2pix speed.

    python bench/reference_i2i.py                        # cases a b c, medians of --repeats runs
    python bench/reference_i2i.py --cases c --repeats 9 --threads 1

A self-contained re-implementation (no medgan-zoo import) of the networks and training steps of
junyanz/pytorch-CycleGAN-and-pix2pix, written the way that repository writes them:

* ``get_norm_layer``: instance = InstanceNorm2d(affine=False, track_running_stats=False), batch =
  BatchNorm2d(affine=True, track_running_stats=True); conv bias only with instance norm.
* ``ResnetGenerator``: one nn.Sequential; ReflectionPad2d(3) + 7x7 conv, 2 strided convs, n
  ``ResnetBlock`` (ReflectionPad2d(1) + 3x3 conv, twice), 2 ConvTranspose2d(output_padding=1), 7x7, tanh.
* ``UnetGenerator``: nested ``UnetSkipConnectionBlock`` (torch.cat skip at every level, dropout 0.5 in
  the num_downs - 5 inner ngf*8 levels).
* ``NLayerDiscriminator``: the 70x70 PatchGAN (n_layers 3, ndf 64, LeakyReLU 0.2).
* ``GANLoss`` (lsgan = MSE, vanilla = BCE with logits, on a target expanded to the map), ``ImagePool``
  (50, python ``random`` like the reference), weights N(0, 0.02).
* CycleGAN ``optimize_parameters``: G forward (fake, rec for both directions), D frozen
  (requires_grad False), G backward with identity 0.5 and cycle 10, G step; D unfrozen, D_A and D_B
  backward on pooled fakes, D step. pix2pix: G forward, D step on (A, B) vs (A, fake.detach()), D frozen,
  G step on BCE + 100 L1.

Cases (the shapes of bench/i2i_speed.py; the reference's figures on a 2-core CPU: a 0.5 it/s, b 3.0 it/s,
c 380 ms):

a  CycleGAN training, ResNet-9 (ngf 64), batch 1, 128 x 128               -> it/s
b  pix2pix training, U-Net-128 (batch norm, dropout), 6-channel PatchGAN, batch 1, 128 x 128  -> it/s
c  inference of the ResNet-9 generator (eval, no_grad) on one 256 x 256 image  -> ms

Each training run is --steps optimize_parameters calls on a fixed set of 8 random images (data loading
excluded), after --warmup steps; each inference run is one call after 2 warm-up calls. Prints one
JSON line per case and a summary line. Other scripts import the builders (build_cyclegan, ...).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import random
import statistics
import time

import torch
from torch import nn
from torch.nn import init


# -- networks (reference layout) ------------------------------------------------------------------
def get_norm_layer(norm_type: str = "instance"):
    if norm_type == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm_type == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if norm_type == "instance_affine":  # not in the reference: the zoo's choice, for comparisons
        return functools.partial(nn.InstanceNorm2d, affine=True, track_running_stats=False)
    raise NotImplementedError(f"normalization layer [{norm_type}] is not found")


def _uses_bias(norm_layer) -> bool:
    func = norm_layer.func if isinstance(norm_layer, functools.partial) else norm_layer
    return func == nn.InstanceNorm2d


class ResnetBlock(nn.Module):
    def __init__(self, dim: int, norm_layer, use_dropout: bool, use_bias: bool, padding_type: str = "reflect"):
        super().__init__()
        block = []
        for second in (False, True):
            pad = 0
            if padding_type == "reflect":
                block.append(nn.ReflectionPad2d(1))
            elif padding_type == "conv_reflect":  # not in the reference: the pad fused into the conv
                pad = 1
            else:
                raise NotImplementedError(padding_type)
            conv = nn.Conv2d(dim, dim, kernel_size=3, padding=pad, bias=use_bias,
                             padding_mode="reflect" if pad else "zeros")
            block += [conv, norm_layer(dim)]
            if not second:
                block.append(nn.ReLU(True))
                if use_dropout:
                    block.append(nn.Dropout(0.5))
        self.conv_block = nn.Sequential(*block)

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    def __init__(self, input_nc: int, output_nc: int, ngf: int = 64, norm_layer=nn.BatchNorm2d,
                 use_dropout: bool = False, n_blocks: int = 9, padding_type: str = "reflect"):
        super().__init__()
        use_bias = _uses_bias(norm_layer)
        fused = padding_type == "conv_reflect"

        def big_conv(cin, cout, bias):  # ReflectionPad2d(3) + 7x7 conv
            if fused:
                return [nn.Conv2d(cin, cout, kernel_size=7, padding=3, padding_mode="reflect", bias=bias)]
            return [nn.ReflectionPad2d(3), nn.Conv2d(cin, cout, kernel_size=7, padding=0, bias=bias)]

        model = big_conv(input_nc, ngf, use_bias) + [norm_layer(ngf), nn.ReLU(True)]
        n_downsampling = 2
        for i in range(n_downsampling):
            mult = 2**i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=use_bias),
                      norm_layer(ngf * mult * 2), nn.ReLU(True)]
        mult = 2**n_downsampling
        model += [ResnetBlock(ngf * mult, norm_layer, use_dropout, use_bias, padding_type) for _ in range(n_blocks)]
        for i in range(n_downsampling):
            mult = 2 ** (n_downsampling - i)
            model += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, kernel_size=3, stride=2, padding=1,
                                         output_padding=1, bias=use_bias),
                      norm_layer(ngf * mult // 2), nn.ReLU(True)]
        model += big_conv(ngf, output_nc, True) + [nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


class UnetSkipConnectionBlock(nn.Module):
    def __init__(self, outer_nc: int, inner_nc: int, input_nc: int | None = None, submodule=None,
                 outermost: bool = False, innermost: bool = False, norm_layer=nn.BatchNorm2d,
                 use_dropout: bool = False):
        super().__init__()
        self.outermost = outermost
        use_bias = _uses_bias(norm_layer)
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        downrelu, uprelu = nn.LeakyReLU(0.2, True), nn.ReLU(True)
        downnorm, upnorm = norm_layer(inner_nc), norm_layer(outer_nc)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            model = [downconv, submodule, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv, uprelu, upconv, upnorm]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv, downnorm, submodule, uprelu, upconv, upnorm]
            if use_dropout:
                model.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*model)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    def __init__(self, input_nc: int, output_nc: int, num_downs: int, ngf: int = 64, norm_layer=nn.BatchNorm2d,
                 use_dropout: bool = False):
        super().__init__()
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, norm_layer=norm_layer, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm_layer=norm_layer,
                                            use_dropout=use_dropout)
        block = UnetSkipConnectionBlock(ngf * 4, ngf * 8, submodule=block, norm_layer=norm_layer)
        block = UnetSkipConnectionBlock(ngf * 2, ngf * 4, submodule=block, norm_layer=norm_layer)
        block = UnetSkipConnectionBlock(ngf, ngf * 2, submodule=block, norm_layer=norm_layer)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True,
                                             norm_layer=norm_layer)

    def forward(self, x):
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 3, norm_layer=nn.BatchNorm2d):
        super().__init__()
        use_bias = _uses_bias(norm_layer)
        kw, padw = 4, 1
        seq = [nn.Conv2d(input_nc, ndf, kernel_size=kw, stride=2, padding=padw), nn.LeakyReLU(0.2, True)]
        nf_mult = 1
        for n in range(1, n_layers):
            prev, nf_mult = nf_mult, min(2**n, 8)
            seq += [nn.Conv2d(ndf * prev, ndf * nf_mult, kernel_size=kw, stride=2, padding=padw, bias=use_bias),
                    norm_layer(ndf * nf_mult), nn.LeakyReLU(0.2, True)]
        prev, nf_mult = nf_mult, min(2**n_layers, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * nf_mult, kernel_size=kw, stride=1, padding=padw, bias=use_bias),
                norm_layer(ndf * nf_mult), nn.LeakyReLU(0.2, True),
                nn.Conv2d(ndf * nf_mult, 1, kernel_size=kw, stride=1, padding=padw)]
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        return self.model(x)


def init_weights(net: nn.Module, gain: float = 0.02) -> nn.Module:
    def init_func(m):
        name = m.__class__.__name__
        if hasattr(m, "weight") and m.weight is not None and ("Conv" in name or "Linear" in name):
            init.normal_(m.weight.data, 0.0, gain)
            if getattr(m, "bias", None) is not None:
                init.constant_(m.bias.data, 0.0)
        elif "BatchNorm2d" in name:
            init.normal_(m.weight.data, 1.0, gain)
            init.constant_(m.bias.data, 0.0)

    net.apply(init_func)
    return net


class GANLoss(nn.Module):
    def __init__(self, gan_mode: str):
        super().__init__()
        self.register_buffer("real_label", torch.tensor(1.0))
        self.register_buffer("fake_label", torch.tensor(0.0))
        self.loss = {"lsgan": nn.MSELoss, "vanilla": nn.BCEWithLogitsLoss}[gan_mode]()

    def __call__(self, prediction, target_is_real: bool):
        target = (self.real_label if target_is_real else self.fake_label).expand_as(prediction)
        return self.loss(prediction, target)


class ImagePool:
    def __init__(self, pool_size: int):
        self.pool_size, self.images = pool_size, []

    def query(self, images):
        if self.pool_size == 0:
            return images
        out = []
        for image in images:
            image = torch.unsqueeze(image.data, 0)
            if len(self.images) < self.pool_size:
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                k = random.randint(0, self.pool_size - 1)
                tmp = self.images[k].clone()
                self.images[k] = image
                out.append(tmp)
            else:
                out.append(image)
        return torch.cat(out, 0)


def set_requires_grad(nets, requires_grad: bool) -> None:
    for net in nets:
        for p in net.parameters():
            p.requires_grad = requires_grad


# -- models (reference training steps) ------------------------------------------------------------
class CycleGANModel:
    def __init__(self, ngf: int = 64, ndf: int = 64, n_blocks: int = 9, norm: str = "instance",
                 lambda_cycle: float = 10.0, lambda_identity: float = 0.5, pool_size: int = 50, lr: float = 2e-4,
                 padding_type: str = "reflect"):
        norm_layer = get_norm_layer(norm)
        self.netG_A = init_weights(ResnetGenerator(3, 3, ngf, norm_layer, False, n_blocks, padding_type))
        self.netG_B = init_weights(ResnetGenerator(3, 3, ngf, norm_layer, False, n_blocks, padding_type))
        self.netD_A = init_weights(NLayerDiscriminator(3, ndf, 3, norm_layer))
        self.netD_B = init_weights(NLayerDiscriminator(3, ndf, 3, norm_layer))
        self.lambda_A = self.lambda_B = lambda_cycle
        self.lambda_idt = lambda_identity
        self.fake_A_pool, self.fake_B_pool = ImagePool(pool_size), ImagePool(pool_size)
        self.criterionGAN, self.criterionCycle, self.criterionIdt = GANLoss("lsgan"), nn.L1Loss(), nn.L1Loss()
        self.optimizer_G = torch.optim.Adam(itertools.chain(self.netG_A.parameters(), self.netG_B.parameters()),
                                            lr=lr, betas=(0.5, 0.999))
        self.optimizer_D = torch.optim.Adam(itertools.chain(self.netD_A.parameters(), self.netD_B.parameters()),
                                            lr=lr, betas=(0.5, 0.999))
        # forward callables: a benchmark may swap in compiled versions without touching the modules
        self.G_A, self.G_B, self.D_A, self.D_B = self.netG_A, self.netG_B, self.netD_A, self.netD_B

    def nets(self):
        return [self.netG_A, self.netG_B, self.netD_A, self.netD_B]

    def set_input(self, batch):
        self.real_A, self.real_B = batch["A"], batch["B"]

    def forward(self):
        self.fake_B = self.G_A(self.real_A)
        self.rec_A = self.G_B(self.fake_B)
        self.fake_A = self.G_B(self.real_B)
        self.rec_B = self.G_A(self.fake_A)

    def backward_D_basic(self, netD, real, fake):
        loss_D_real = self.criterionGAN(netD(real), True)
        loss_D_fake = self.criterionGAN(netD(fake.detach()), False)
        loss_D = (loss_D_real + loss_D_fake) * 0.5
        loss_D.backward()
        return loss_D

    def backward_G(self):
        if self.lambda_idt > 0:
            self.idt_A = self.G_A(self.real_B)
            loss_idt_A = self.criterionIdt(self.idt_A, self.real_B) * self.lambda_B * self.lambda_idt
            self.idt_B = self.G_B(self.real_A)
            loss_idt_B = self.criterionIdt(self.idt_B, self.real_A) * self.lambda_A * self.lambda_idt
        else:
            loss_idt_A = loss_idt_B = 0
        loss_G_A = self.criterionGAN(self.D_A(self.fake_B), True)
        loss_G_B = self.criterionGAN(self.D_B(self.fake_A), True)
        loss_cycle_A = self.criterionCycle(self.rec_A, self.real_A) * self.lambda_A
        loss_cycle_B = self.criterionCycle(self.rec_B, self.real_B) * self.lambda_B
        self.loss_G = loss_G_A + loss_G_B + loss_cycle_A + loss_cycle_B + loss_idt_A + loss_idt_B
        self.loss_G.backward()

    def optimize_parameters(self):
        self.forward()
        set_requires_grad([self.netD_A, self.netD_B], False)
        self.optimizer_G.zero_grad()
        self.backward_G()
        self.optimizer_G.step()
        set_requires_grad([self.netD_A, self.netD_B], True)
        self.optimizer_D.zero_grad()
        self.loss_D_A = self.backward_D_basic(self.D_A, self.real_B, self.fake_B_pool.query(self.fake_B))
        self.loss_D_B = self.backward_D_basic(self.D_B, self.real_A, self.fake_A_pool.query(self.fake_A))
        self.optimizer_D.step()


class Pix2PixModel:
    def __init__(self, ngf: int = 64, ndf: int = 64, num_downs: int = 7, norm: str = "batch",
                 lambda_L1: float = 100.0, lr: float = 2e-4, use_dropout: bool = True):
        norm_layer = get_norm_layer(norm)
        self.netG = init_weights(UnetGenerator(3, 3, num_downs, ngf, norm_layer, use_dropout))
        self.netD = init_weights(NLayerDiscriminator(6, ndf, 3, norm_layer))
        self.lambda_L1 = lambda_L1
        self.criterionGAN, self.criterionL1 = GANLoss("vanilla"), nn.L1Loss()
        self.optimizer_G = torch.optim.Adam(self.netG.parameters(), lr=lr, betas=(0.5, 0.999))
        self.optimizer_D = torch.optim.Adam(self.netD.parameters(), lr=lr, betas=(0.5, 0.999))
        self.G, self.D = self.netG, self.netD

    def nets(self):
        return [self.netG, self.netD]

    def set_input(self, batch):
        self.real_A, self.real_B = batch["A"], batch["B"]

    def forward(self):
        self.fake_B = self.G(self.real_A)

    def backward_D(self):
        fake_AB = torch.cat((self.real_A, self.fake_B), 1)
        loss_D_fake = self.criterionGAN(self.D(fake_AB.detach()), False)
        real_AB = torch.cat((self.real_A, self.real_B), 1)
        loss_D_real = self.criterionGAN(self.D(real_AB), True)
        self.loss_D = (loss_D_fake + loss_D_real) * 0.5
        self.loss_D.backward()

    def backward_G(self):
        fake_AB = torch.cat((self.real_A, self.fake_B), 1)
        loss_G_GAN = self.criterionGAN(self.D(fake_AB), True)
        loss_G_L1 = self.criterionL1(self.fake_B, self.real_B) * self.lambda_L1
        self.loss_G = loss_G_GAN + loss_G_L1
        self.loss_G.backward()

    def optimize_parameters(self):
        self.forward()
        set_requires_grad([self.netD], True)
        self.optimizer_D.zero_grad()
        self.backward_D()
        self.optimizer_D.step()
        set_requires_grad([self.netD], False)
        self.optimizer_G.zero_grad()
        self.backward_G()
        self.optimizer_G.step()


# -- builders and timers (imported by bench/i2i_optimizations.py) ----------------------------------
def build_cyclegan(**kw) -> CycleGANModel:
    return CycleGANModel(**kw)


def build_pix2pix(**kw) -> Pix2PixModel:
    return Pix2PixModel(**kw)


def build_resnet9(ngf: int = 64, norm: str = "instance", padding_type: str = "reflect") -> nn.Module:
    return init_weights(ResnetGenerator(3, 3, ngf, get_norm_layer(norm), False, 9, padding_type)).eval()


def make_batches(size: int = 128, n: int = 8, seed: int = 0) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    return [{"A": torch.rand(1, 3, size, size, generator=g) * 2 - 1,
             "B": torch.rand(1, 3, size, size, generator=g) * 2 - 1} for _ in range(n)]


class TrainLoop:
    """Cycles ``batches`` through ``model.set_input`` + ``optimize_parameters``; ``run(k)`` -> seconds."""

    def __init__(self, model, batches):
        self.model, self.batches, self.i = model, batches, 0

    def run(self, steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            self.model.set_input(self.batches[self.i % len(self.batches)])
            self.model.optimize_parameters()
            self.i += 1
        return time.perf_counter() - start


def train_rates(model, steps: int, repeats: int, warmup: int = 2, size: int = 128) -> list[float]:
    loop = TrainLoop(model, make_batches(size))
    loop.run(warmup)
    return [steps / loop.run(steps) for _ in range(repeats)]


def infer_ms(net, x, repeats: int, warmup: int = 2, grad_mode=torch.no_grad) -> list[float]:
    times = []
    with grad_mode():
        for _ in range(warmup):
            net(x)
        for _ in range(repeats):
            start = time.perf_counter()
            net(x)
            times.append((time.perf_counter() - start) * 1000)
    return times


def run_case(case: str, steps: int, repeats: int, warmup: int) -> dict:
    torch.manual_seed(0)
    random.seed(0)
    if case == "a":
        rates = train_rates(build_cyclegan(), steps, repeats, warmup)
    elif case == "b":
        rates = train_rates(build_pix2pix(), steps, repeats, warmup)
    else:
        times = infer_ms(build_resnet9(), torch.rand(1, 3, 256, 256) * 2 - 1, repeats)
        return {"case": case, "impl": "reference", "ms": round(statistics.median(times), 1),
                "runs": [round(t) for t in times], "threads": torch.get_num_threads()}
    return {"case": case, "impl": "reference", "it/s": round(statistics.median(rates), 3),
            "runs": [round(r, 3) for r in rates], "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=["a", "b", "c"], choices=["a", "b", "c"])
    parser.add_argument("--steps", type=int, default=4, help="training steps per timed run")
    parser.add_argument("--warmup", type=int, default=2, help="untimed training steps first")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs (inference: calls); the median is shown")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    results = {}
    for case in args.cases:
        r = run_case(case, args.steps, args.repeats, args.warmup)
        results[case] = r.get("it/s", r.get("ms"))
        print(json.dumps(r), flush=True)
    print("summary: " + ", ".join(f"{c} {v} {'ms' if c == 'c' else 'it/s'}" for c, v in results.items()))


if __name__ == "__main__":
    main()
