"""Screenshots of `zoo demo` for the README, taken in headless Chromium (Playwright) from the embedded
weights: the Generate tab (sngan-lesions) and the mask editor (lesion-remove on a generated lesion).

    python scripts/demo_screenshots.py --out docs/images

Needs the web extra, Playwright and Chromium (`apt-get install chromium`). The PNGs are reduced to
a 96-colour palette to stay small.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser import CHROMIUM_ARGS  # noqa: E402

import zoo  # noqa: E402
from zoo.web.app import build_demo  # noqa: E402


def small_png(raw: Path, out: Path) -> None:
    Image.open(raw).convert("RGB").quantize(96, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/images"), help="folder for the PNGs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="demo-shots-"))
    lesion = zoo.load("sngan-lesions")(num_images=1, seed=3).images[0].resize((256, 256), Image.Resampling.LANCZOS)
    lesion.save(work / "lesion.png")
    demo = build_demo(["sngan-lesions", "lesion-remove"])
    demo.launch(prevent_thread_lock=True, quiet=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(demo.local_url)
            page.wait_for_selector("text=Not for diagnosis.", timeout=30_000)
            page.get_by_role("button", name="Generate", exact=True).click()
            page.wait_for_function("document.querySelectorAll('img[src*=\"gradio_api/file=\"]').length >= 16",
                                   timeout=60_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(work / "generate.png"))
            small_png(work / "generate.png", args.out / "demo-generate.png")

            page.get_by_role("tab", name="Edit inside a mask").click()
            page.wait_for_selector("text=Upload an image", timeout=30_000)
            page.wait_for_load_state("networkidle")
            page.locator("input[type=file]").first.set_input_files(str(work / "lesion.png"))
            page.wait_for_selector("text=Upload an image", state="detached", timeout=30_000)
            page.wait_for_timeout(500)
            canvas = max(page.locator("canvas").all(), key=lambda c: (c.bounding_box() or {"width": 0})["width"])
            box = canvas.bounding_box()
            cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            for dy in range(-40, 41, 16):  # paint over the lesion in the middle
                page.mouse.move(cx - 45, cy + dy)
                page.mouse.down()
                page.mouse.move(cx + 45, cy + dy, steps=8)
                page.mouse.up()
            served = "Array.from(document.images).filter(i => i.src.includes('gradio_api/file=')).length"
            before = page.evaluate(served)
            page.get_by_role("button", name="Edit", exact=True).click()
            page.wait_for_function(f"{served} >= {before + 2}", timeout=60_000)  # the result and the overlay
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for_timeout(1000)
            page.screenshot(path=str(work / "edit.png"))
            small_png(work / "edit.png", args.out / "demo-edit.png")
            browser.close()
    finally:
        demo.close()
        shutil.rmtree(work, ignore_errors=True)
    for name in ("demo-generate.png", "demo-edit.png"):
        print(f"wrote {args.out / name} ({(args.out / name).stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
