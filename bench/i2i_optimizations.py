"""CPU speed-ups for image-to-image inference and training, measured interleaved in one process.

    python bench/i2i_optimizations.py infer --model c --repeats 7        # ResNet-9 ngf 64, 256 x 256
    python bench/i2i_optimizations.py infer --model d --variants baseline zoo jit_trace_freeze
    python bench/i2i_optimizations.py train --model a --repeats 5 --steps 2
    python bench/i2i_optimizations.py infer --list                       # the variant names

Other load on the machine shifts timings, so every variant is built first, then timed in rounds:
each round calls every variant once (inference: one image; training: --steps steps), in a rotated
order. The table shows each variant's median, its ratio to the baseline's median (time ratio for
inference, rate ratio for training: > 1 is faster in both), the median of the per-round ratios
(robust to load changing between rounds), the one-off setup / compile time, and for inference the
largest absolute difference from the baseline's output (same weights).

Models: c = the reference ResNet-9 generator (ngf 64) at 256 x 256; d = the reference shape at 32
features (ngf 32, 9 blocks, transposed convs: cyclegan-pws's generator before it took resize
up-sampling and a residual output) at 256 x 256; a = CycleGAN training (128 x 128, batch 1); b =
pix2pix training. The baseline is the plain reference code of bench/reference_i2i.py (eager, no_grad,
InstanceNorm2d(affine=False), ReflectionPad2d) at torch's default thread count; "zoo" variants run
medgan-zoo's own networks / Trainer on the same shapes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import reference_i2i as ref  # noqa: E402


# -- helpers --------------------------------------------------------------------------------------
@contextlib.contextmanager
def threads(n: int | None):
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def onednn_fusion(on: bool):
    old = torch._C._jit_llga_enabled()
    torch.jit.enable_onednn_fusion(on)
    try:
        yield
    finally:
        torch.jit.enable_onednn_fusion(old)


@contextlib.contextmanager
def mkldnn_bf16():
    """oneDNN may run fp32 convolutions / matmuls with bf16 inputs (implicit down-conversion)."""
    conv, mm = torch.backends.mkldnn.conv.fp32_precision, torch.backends.mkldnn.matmul.fp32_precision
    torch.backends.mkldnn.conv.fp32_precision = torch.backends.mkldnn.matmul.fp32_precision = "bf16"
    try:
        yield
    finally:
        torch.backends.mkldnn.conv.fp32_precision, torch.backends.mkldnn.matmul.fp32_precision = conv, mm


@contextlib.contextmanager
def mkldnn_off():
    with torch.backends.mkldnn.flags(enabled=False):
        yield


def bf16_autocast():
    return torch.autocast("cpu", dtype=torch.bfloat16)


def nested(*makers):
    @contextlib.contextmanager
    def ctx():
        with contextlib.ExitStack() as stack:
            for make in makers:
                stack.enter_context(make())
            yield
    return ctx


def copy_weights(dst: nn.Module, src: nn.Module) -> nn.Module:
    """Same conv / transposed-conv weights, in module order (layouts differ: pads, affine norms)."""
    convs = lambda m: [x for x in m.modules() if isinstance(x, (nn.Conv2d, nn.ConvTranspose2d))]  # noqa: E731
    with torch.no_grad():
        for a, b in zip(convs(dst), convs(src), strict=True):
            a.weight.copy_(b.weight)
            if a.bias is not None and b.bias is not None:
                a.bias.copy_(b.bias)
            elif a.bias is not None:
                a.bias.zero_()
    return dst


def print_table(rows: list[dict], unit: str, higher_better: bool) -> None:
    base = rows[0]["median"]
    print(f"\n{'variant':<34} {'median ' + unit:>13} {'ratio':>7} {'per-round':>9} {'setup s':>8} "
          f"{'max|diff|':>10}  runs")
    for r in rows:
        if r.get("error"):
            print(f"{r['name']:<34} failed: {r['error']}")
            continue
        ratio = r["median"] / base if higher_better else base / r["median"]
        diff = f"{r['diff']:.1e}" if r.get("diff") is not None else "-"
        print(f"{r['name']:<34} {r['median']:>13.3f} {ratio:>7.2f} {r['round_ratio']:>9.2f} {r['setup']:>8.1f} "
              f"{diff:>10}  {[round(v, 3) for v in r['runs']]}")
    print(f"(ratio > 1: faster than {rows[0]['name']}; threads default {torch.get_num_threads()}; "
          f"torch {torch.__version__}; capability {torch.backends.cpu.get_cpu_capability()})")


def interleave(variants: dict, run_one, repeats: int) -> dict[str, list[float]]:
    """``run_one(variant) -> value``; rounds over all variants in a rotated order."""
    names = list(variants)
    runs = {n: [] for n in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[: r % len(names)]
        for n in order:
            runs[n].append(run_one(variants[n]))
    return runs


def summarise(names, runs, setup, diffs, errors, higher_better):
    base = runs[names[0]]
    rows = []
    for n in names:
        if n in errors:
            rows.append({"name": n, "error": errors[n]})
            continue
        per_round = [(v / b if higher_better else b / v) for v, b in zip(runs[n], base)]
        rows.append({"name": n, "median": statistics.median(runs[n]), "runs": runs[n],
                     "round_ratio": statistics.median(per_round), "setup": setup.get(n, 0.0), "diff": diffs.get(n)})
    return rows


# -- inference ------------------------------------------------------------------------------------
def inference_variants(model: str):
    """name -> (builder() -> callable(x), context maker or None). Built lazily, in the table's order."""
    ngf = 64 if model == "c" else 32
    torch.manual_seed(0)
    base = ref.build_resnet9(ngf)

    def ref_net(norm="instance", padding_type="reflect"):
        return copy_weights(ref.build_resnet9(ngf, norm, padding_type), base)

    def zoo_net():
        from zoo.models.i2i import ResnetGenerator
        return copy_weights(ResnetGenerator(3, 3, ngf, 9, norm="instance").eval(), base)

    def cl(net):
        net = net.to(memory_format=torch.channels_last)
        return lambda x: net(x.contiguous(memory_format=torch.channels_last))

    def jit(kind, optimize=False):
        def build(x):
            net = ref_net()
            with torch.no_grad():
                m = torch.jit.script(net) if kind == "script" else torch.jit.trace(net, x)
                m = torch.jit.freeze(m.eval())
                if optimize:
                    m = torch.jit.optimize_for_inference(m)
            return m
        return build

    def compiled(mode=None, channels_last=False, net_maker=ref_net):
        def build(x):
            net = net_maker()
            if channels_last:
                net = net.to(memory_format=torch.channels_last)
            c = torch.compile(net, mode=mode)
            if channels_last:
                return lambda y: c(y.contiguous(memory_format=torch.channels_last))
            return c
        return build

    def bf16_weights(x):
        net = ref_net().to(torch.bfloat16)
        return lambda y: net(y.to(torch.bfloat16)).float()

    nm, im = torch.no_grad, torch.inference_mode
    return {
        # name: (build(x) -> callable, grad/ctx maker)
        "baseline (ref, no_grad)": (lambda x: base, nm),
        "inference_mode": (lambda x: base, im),
        "threads=1": (lambda x: base, nested(im, lambda: threads(1))),
        "threads=2": (lambda x: base, nested(im, lambda: threads(2))),
        "zoo ResnetGenerator (affine IN)": (lambda x: zoo_net(), im),
        "affine instance norm (ref)": (lambda x: ref_net("instance_affine"), im),
        "reflect pad in conv": (lambda x: ref_net(padding_type="conv_reflect"), im),
        "channels_last eager": (lambda x: cl(ref_net()), im),
        "jit.script+freeze": (jit("script"), im),
        "jit.trace+freeze": (jit("trace"), im),
        "jit.trace+freeze+onednn fusion": (jit("trace"), nested(im, lambda: onednn_fusion(True))),
        "jit.trace+freeze+optimize_for_inf": (jit("trace", optimize=True), im),
        "mkldnn conv fp32_precision=bf16": (lambda x: base, nested(im, mkldnn_bf16)),  # no effect w/o AMX
        "bf16 autocast": (lambda x: base, nested(im, bf16_autocast)),
        "bf16 weights": (bf16_weights, im),
        "compile (inductor default)": (compiled(), im),
        "compile max-autotune-no-cudagraphs": (compiled("max-autotune-no-cudagraphs"), im),
        "compile + channels_last": (compiled(channels_last=True), im),
        "compile + reflect pad in conv": (compiled(net_maker=lambda: ref_net(padding_type="conv_reflect")), im),
        "compile zoo ResnetGenerator": (compiled(net_maker=zoo_net), im),
        "compile + bf16 autocast": (compiled(), nested(im, bf16_autocast)),
    }


def run_inference(args) -> None:
    table = inference_variants(args.model)
    names = [n for n in table if not args.variants or n in args.variants or n.split(" ")[0] in args.variants]
    if names[0] != "baseline (ref, no_grad)":
        names.insert(0, "baseline (ref, no_grad)")
    x = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(1)) * 2 - 1
    fns, setup, diffs, errors = {}, {}, {}, {}
    reference_out = None
    for n in names:
        build, ctx = table[n]
        try:
            start = time.perf_counter()
            with ctx():
                fn = build(x)
                out = fn(x)  # first call: compiles / specialises
                fn(x)
            setup[n] = time.perf_counter() - start
            out = out.float()
            reference_out = out if reference_out is None else reference_out
            diffs[n] = (out - reference_out).abs().max().item()
            fns[n] = (fn, ctx)
            print(f"built {n}: {setup[n]:.1f} s", flush=True)
        except Exception as e:  # a variant this build does not support is reported, not fatal
            errors[n] = f"{type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''}"
            print(f"failed {n}: {errors[n]}", flush=True)

    def one(entry):
        fn, ctx = entry
        with ctx():
            start = time.perf_counter()
            fn(x)
            return (time.perf_counter() - start) * 1000

    runs = interleave(fns, one, args.repeats)
    print_table(summarise(names, runs, setup, diffs, errors, False), "ms", False)


# -- training -------------------------------------------------------------------------------------
class NoFreezeCycleGAN(ref.CycleGANModel):
    """The zoo's order: D's parameters keep requires_grad during the G step (wasted weight gradients)."""

    def optimize_parameters(self):
        self.forward()
        self.optimizer_G.zero_grad()
        self.backward_G()
        self.optimizer_G.step()
        self.optimizer_D.zero_grad()
        self.loss_D_A = self.backward_D_basic(self.D_A, self.real_B, self.fake_B_pool.query(self.fake_B))
        self.loss_D_B = self.backward_D_basic(self.D_B, self.real_A, self.fake_A_pool.query(self.fake_A))
        self.optimizer_D.step()


class Loop:
    """A training loop with a context (threads, autocast, ...) entered around each timed run."""

    def __init__(self, step_fn, ctx=contextlib.nullcontext):
        self.step_fn, self.ctx = step_fn, ctx

    def run(self, steps: int) -> float:
        with self.ctx():
            start = time.perf_counter()
            for _ in range(steps):
                self.step_fn()
            return time.perf_counter() - start


def ref_loop(model, channels_last=False, ctx=contextlib.nullcontext):
    batches = ref.make_batches(128)
    if channels_last:
        for net in model.nets():
            net.to(memory_format=torch.channels_last)
        batches = [{k: v.contiguous(memory_format=torch.channels_last) for k, v in b.items()} for b in batches]
    state = {"i": 0}

    def step():
        model.set_input(batches[state["i"] % len(batches)])
        model.optimize_parameters()
        state["i"] += 1
    return Loop(step, ctx)


def compile_nets(model, mode=None):
    if isinstance(model, ref.CycleGANModel):
        model.G_A, model.G_B = torch.compile(model.netG_A, mode=mode), torch.compile(model.netG_B, mode=mode)
        model.D_A, model.D_B = torch.compile(model.netD_A, mode=mode), torch.compile(model.netD_B, mode=mode)
    else:
        model.G, model.D = torch.compile(model.netG, mode=mode), torch.compile(model.netD, mode=mode)
    return model


def adam(model, **options):
    """Rebuild the model's Adam optimisers with ``options`` (fused=True / foreach=True)."""
    def remake(opt):
        params = [p for group in opt.param_groups for p in group["params"]]
        return torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999), **options)
    model.optimizer_G, model.optimizer_D = remake(model.optimizer_G), remake(model.optimizer_D)
    return model


def make_zoo_loop(case: str, config: str = "baseline", freeze_d: bool = True, ctx=contextlib.nullcontext):
    """medgan-zoo's Trainer on the case's reference shapes, set up as i2i_speed's ``config``;
    ``freeze_d=False`` lets D's weights get gradients in G's step (the zoo before ctx.frozen)."""
    from i2i_speed import CASES, training_case  # the speed bench's reference shapes and set-ups

    import zoo

    _, model_id, overrides = CASES[case]
    trainer = training_case(zoo.create(model_id, **overrides), config)
    if not freeze_d:
        trainer._frozen = lambda net: net
    rng = torch.get_rng_state()

    def step():
        for _ in trainer.steps(trainer.state.step + 1):
            pass
    loop = Loop(step, ctx)
    torch.set_rng_state(rng)
    return loop


# accelerate's mixed-precision state is process-wide, so these cannot share a process with "zoo
# Trainer" (float32): they run only when named, e.g. --variants "zoo bf16 + fused Adam" "zoo bf16 +
# fused Adam, D not frozen in G step".
ZOO_BF16_VARIANTS = {
    "zoo bf16 + fused Adam": lambda case: make_zoo_loop(case, "bf16_fused"),
    "zoo bf16 + fused Adam, D not frozen in G step": lambda case: make_zoo_loop(case, "bf16_fused", freeze_d=False),
}


def training_variants(case: str):
    build = ref.build_cyclegan if case == "a" else ref.build_pix2pix
    v = {
        "baseline (ref, eager)": lambda: ref_loop(build()),
        "zoo Trainer": lambda: make_zoo_loop(case),
        "threads=1": lambda: ref_loop(build(), ctx=lambda: threads(1)),
        "threads=2": lambda: ref_loop(build(), ctx=lambda: threads(2)),
        "channels_last": lambda: ref_loop(build(), channels_last=True),
        "mkldnn conv fp32_precision=bf16": lambda: ref_loop(build(), ctx=mkldnn_bf16),
        "mkldnn disabled": lambda: ref_loop(build(), ctx=mkldnn_off),
        "bf16 autocast": lambda: ref_loop(build(), ctx=bf16_autocast),
        "compile G and D (inductor)": lambda: ref_loop(compile_nets(build())),
        "fused Adam": lambda: ref_loop(adam(build(), fused=True)),
        "foreach Adam": lambda: ref_loop(adam(build(), foreach=True)),
    }
    for name, loop in ZOO_BF16_VARIANTS.items():
        v[name] = lambda loop=loop: loop(case)
    if case == "a":
        v["D not frozen in G step (the zoo's earlier CycleGAN step)"] = lambda: ref_loop(NoFreezeCycleGAN())
        v["affine instance norm"] = lambda: ref_loop(build(norm="instance_affine"))
        v["reflect pad in conv"] = lambda: ref_loop(build(padding_type="conv_reflect"))
    else:
        v["instance norm (affine=False)"] = lambda: ref_loop(build(norm="instance"))
    return v


def run_training(args) -> None:
    table = training_variants(args.model)
    names = [n for n in table if n in (args.variants or [])
             or (n not in ZOO_BF16_VARIANTS and (not args.variants or n.split(" ")[0] in args.variants))]
    if names[0] != "baseline (ref, eager)":
        names.insert(0, "baseline (ref, eager)")
    loops, setup, errors = {}, {}, {}
    for n in names:
        try:
            torch.manual_seed(0)
            start = time.perf_counter()
            loop = table[n]()
            loop.run(args.warmup)  # compiles (fwd + bwd) where compiled
            setup[n] = time.perf_counter() - start
            loops[n] = loop
            print(f"built {n}: {setup[n]:.1f} s", flush=True)
        except Exception as e:
            errors[n] = f"{type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''}"
            print(f"failed {n}: {errors[n]}", flush=True)
    runs = interleave(loops, lambda loop: args.steps / loop.run(args.steps), args.repeats)
    print_table(summarise(names, runs, setup, {}, errors, True), "it/s", True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=["infer", "train"])
    parser.add_argument("--model", default=None, help="infer: c (ngf 64) or d (ngf 32); train: a or b")
    parser.add_argument("--variants", nargs="*", default=None, help="names (or first words) to run; default all")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds")
    parser.add_argument("--steps", type=int, default=2, help="training steps per timed run")
    parser.add_argument("--warmup", type=int, default=2, help="untimed training steps per variant")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads for every variant but threads=N (default: torch's). On a "
                             "shared machine 1 gives the steadiest ratios")
    parser.add_argument("--list", action="store_true", help="print the variant names and exit")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    args.model = args.model or ("c" if args.part == "infer" else "a")
    if args.list:
        table = inference_variants(args.model) if args.part == "infer" else training_variants(args.model)
        print("\n".join(table))
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"capability {torch.backends.cpu.get_cpu_capability()}", flush=True)
    (run_inference if args.part == "infer" else run_training)(args)


if __name__ == "__main__":
    main()
