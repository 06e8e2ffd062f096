"""The demo in a real browser (headless Chromium driven by Playwright): upload, paint, press, and check
the image that comes back."""

import io

import numpy as np
import pytest
from browser import chromium_page
from PIL import Image

pytest.importorskip("gradio")
from zoo.web.app import build_demo  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_url():
    demo = build_demo(["sngan-lesions", "cyclegan-pws", "eczema-add"])
    demo.launch(prevent_thread_lock=True, quiet=True, show_error=True)
    yield demo.local_url
    demo.close()


def _fetch(page, src: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(page.request.get(src).body())).convert("RGB"), dtype=float)


def _outputs(page, before: set[str]) -> list[str]:
    """Image files the app served since ``before`` (the sources of <img> elements)."""
    return [src for src in page.eval_on_selector_all("img", "els => els.map(e => e.src)")
            if "/gradio_api/file=" in src and src not in before]


def _served(page) -> set[str]:
    return set(page.eval_on_selector_all("img", "els => els.map(e => e.src)"))


def test_generate_in_the_browser(demo_url):
    with chromium_page() as page:
        page.goto(demo_url)
        page.wait_for_selector("text=Not for diagnosis.", timeout=30_000)
        page.get_by_role("button", name="Generate", exact=True).click()
        page.wait_for_function("document.querySelectorAll('img[src*=\"gradio_api/file=\"]').length >= 16",
                               timeout=60_000)
        samples = [_fetch(page, src) for src in _outputs(page, set())[:16]]
        assert all(s.shape == (64, 64, 3) for s in samples) and np.std([s.mean() for s in samples]) > 0


def test_translate_in_the_browser(demo_url, tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(90, 200, (120, 100, 3), dtype=np.uint8)).save(tmp_path / "face.png")
    with chromium_page() as page:
        page.goto(demo_url)
        page.get_by_role("tab", name="Translate").click()
        page.wait_for_load_state("networkidle")
        page.locator("input[type=file]").first.set_input_files(str(tmp_path / "face.png"))
        page.wait_for_timeout(500)
        before = _served(page)
        page.get_by_role("button", name="Translate", exact=True).click()
        page.wait_for_function(
            "n => Array.from(document.images).filter(i => i.src.includes('gradio_api/file=')).length >= n",
            arg=len([s for s in before if "/gradio_api/file=" in s]) + 2, timeout=60_000)
        shown = [_fetch(page, src) for src in _outputs(page, before)]
        face = np.asarray(Image.open(tmp_path / "face.png"), dtype=float)
        assert all(image.shape == face.shape for image in shown)  # before and after, at the upload's size
        assert max(np.abs(image - face).mean() for image in shown) > 0.5  # the "after" side changed the face


def test_paint_a_mask_and_edit_in_the_browser(demo_url, tmp_path):
    skin = np.full((120, 160, 3), (196, 150, 128), np.uint8)  # plain skin: the edit shows inside the mask
    skin += np.random.default_rng(1).integers(0, 8, skin.shape, dtype=np.uint8)
    Image.fromarray(skin).save(tmp_path / "skin.png")
    with chromium_page() as page:
        page.goto(demo_url)
        page.get_by_role("tab", name="Edit inside a mask").click()
        page.wait_for_selector("text=Upload an image", timeout=30_000)
        page.wait_for_load_state("networkidle")  # an upload before the editor is ready is lost
        page.locator("input[type=file]").first.set_input_files(str(tmp_path / "skin.png"))
        page.wait_for_selector("text=Upload an image", state="detached", timeout=30_000)
        page.wait_for_timeout(500)
        canvas = max(page.locator("canvas").all(), key=lambda c: (c.bounding_box() or {"width": 0})["width"])
        box = canvas.bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * 0.35, y)  # the brush is the active tool after an upload
        page.mouse.down()
        for step in range(1, 11):
            page.mouse.move(box["x"] + box["width"] * (0.35 + 0.03 * step), y, steps=2)
        page.mouse.up()
        before = _served(page)
        page.get_by_role("button", name="Edit", exact=True).click()
        page.wait_for_function(
            "n => Array.from(document.images).filter(i => i.src.includes('gradio_api/file=')).length >= n",
            arg=len([s for s in before if "/gradio_api/file=" in s]) + 2, timeout=60_000)
        result = _fetch(page, _outputs(page, before)[0])
    assert result.shape == skin.shape
    change = np.abs(result - skin).mean(-1)
    middle, corners = change[50:70, 60:100].mean(), change[:20, :20].mean()
    assert middle > 3 and corners < 0.5  # changed where painted, untouched far from it
