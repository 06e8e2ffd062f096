"""The web demo (zoo.web): its actions as plain functions, every Space folder checked mechanically, and
the running app driven through gradio_client (the browser itself: tests/test_web_browser.py)."""

import resource
import runpy
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

import zoo
from zoo.errors import ImageInputError

gr = pytest.importorskip("gradio")
from gradio_client import Client, handle_file  # noqa: E402

from zoo.web import actions  # noqa: E402
from zoo.web.app import build_demo  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")
ROOT = Path(__file__).resolve().parents[1]
SPACES = sorted(p for p in (ROOT / "spaces").iterdir() if p.is_dir())


@pytest.mark.parametrize("model_id", zoo.list_models())
def test_every_model_gets_the_view_its_task_inputs_ask_for(model_id):
    inputs = zoo.get_registry().task(zoo.info(model_id).model_class.task).inputs
    assert actions.view_kind(model_id) == {"noise": "generate", "image": "translate", "image+mask": "edit"}[inputs]


def test_generation_gives_images_a_zip_and_the_call_that_remakes_them():
    pipe = zoo.load("sngan-lesions")
    out = actions.generate(pipe, "sngan-lesions", 3, seed=5, truncation=0.8)
    assert len(out.images) == 3 and out.images[0].size == (64, 64)
    with zipfile.ZipFile(out.zip_path) as archive:
        assert sorted(archive.namelist()) == [f"sngan-lesions-seed5-{i:03d}.png" for i in range(3)]
    namespace: dict = {}
    exec(out.code, namespace)  # the shown Python call gives the very same pixels
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(out.images, namespace["images"]))
    labelled = actions.generate(zoo.load("acgan-lesions"), "acgan-lesions", 2, seed=0, label="df")
    assert "labels=['df'] * 2" in labelled.code
    with pytest.raises(ValueError, match="1 to 64"):
        actions.generate(pipe, "sngan-lesions", 500, seed=0)


def test_latent_walk_is_a_strip_and_a_looping_animation():
    strip, gif, webp = actions.latent_walk(zoo.load("sngan-lesions"), 0, 1, steps=5)
    assert strip.size == (5 * 64, 64)
    with Image.open(gif) as animation:
        assert animation.n_frames == 8  # there and back: 5 + 3
    assert webp.stat().st_size > 0


def test_translate_and_edit_keep_the_size_and_change_what_they_should(tmp_path):
    rng = np.random.default_rng(0)
    face = Image.fromarray(rng.integers(60, 200, (40, 52, 3), dtype=np.uint8))
    before, after, note = actions.translate(zoo.load("cyclegan-pws"), face, "remove")
    assert after.size == face.size and note == ""
    assert np.abs(np.asarray(after, float) - np.asarray(face, float)).mean() > 0.1
    mask = np.zeros((40, 52), bool)
    mask[10:25, 15:35] = True
    result, overlay = actions.edit(zoo.load("eczema-add"), face, mask, "add")
    change = np.abs(np.asarray(result, float) - np.asarray(face, float)).mean(-1)
    assert result.size == face.size and change[mask].mean() > 5 * max(change[~mask].mean(), 0.01)
    assert overlay.size == face.size
    with pytest.raises(ImageInputError, match="the mask is empty"):
        actions.edit(zoo.load("eczema-add"), face, np.zeros((40, 52), bool), "add")
    with pytest.raises(ImageInputError, match="the mask is 10 x 10 but the image is 52 x 40"):
        actions.mask_from_editor({"layers": [np.zeros((10, 10, 4), np.uint8)]}, face.size)


def test_uploads_are_scaled_or_refused_with_the_limit_named(tmp_path, monkeypatch):
    big = Image.new("RGB", (3000, 1000), (90, 40, 40))
    small, note = actions.fit_for_demo(big)
    assert small.size == (2048, 683) and "scaled to 2048 x 683" in note and "2048 pixels a side" in note
    for mode in ("L", "RGBA", "I;16"):  # grayscale, alpha and 16-bit pass in their own mode
        image, _ = actions.fit_for_demo(Image.new(mode, (30, 20)))
        assert image.size == (30, 20)
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ImageInputError, match="notes.png is not an image this demo can read"):
        actions.fit_for_demo(tmp_path / "notes.png")
    big.save(tmp_path / "big.png")
    monkeypatch.setenv("MEDGAN_ZOO_MAX_INPUT_PIXELS", "1000000")
    with pytest.raises(ImageInputError, match="3000 x 1000 pixels, over the limit of 1,000,000"):
        actions.fit_for_demo(tmp_path / "big.png")


def test_the_card_panel_states_data_figures_and_not_for_diagnosis():
    text = actions.card_markdown("cyclegan-pws")
    assert "Training data (synthetic)" in text and "Not for diagnosis" in text and "| figure |" in text
    assert "Training data (synthetic)" not in actions.card_markdown("sngan-lesions")


# -- Spaces ----------------------------------------------------------------------------------------
def test_there_are_the_spaces_the_docs_list():
    assert {p.name for p in SPACES} >= {"lesion-generator", "pws-removal", "skin-editor", "dental-xray", "zoo-gallery",
                                        "perceptual-study"}


@pytest.mark.slow
@pytest.mark.parametrize("space", SPACES, ids=lambda p: p.name)
def test_each_space_folder_is_a_valid_gradio_space_whose_app_builds(space, monkeypatch, tmp_path, lesion_folder):
    readme = (space / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("---\n")
    meta = yaml.safe_load(readme.split("---\n")[1])
    for field in ("title", "emoji", "sdk", "app_file", "license", "models"):
        assert meta.get(field), f"{space.name}: README front matter lacks {field}"
    assert meta["sdk"] == "gradio" and (space / meta["app_file"]).is_file()
    registered = set(zoo.list_models())
    assert all(m.startswith("medgan-zoo/") and m.split("/", 1)[1] in registered for m in meta["models"])
    assert "medgan-zoo[web]" in (space / "requirements.txt").read_text()
    assert "not for diagnosis" in readme.lower()
    monkeypatch.chdir(tmp_path)  # an app that writes (the study's database) writes here
    monkeypatch.setenv("STUDY_REAL_FOLDER", str(lesion_folder / "images"))  # the study Space's real images
    app = runpy.run_path(str(space / meta["app_file"]), run_name="space")  # not "__main__": no server
    assert isinstance(app["demo"], gr.Blocks)
    app["demo"].close()


def test_the_gallery_space_serves_every_registered_model():
    meta = yaml.safe_load((ROOT / "spaces" / "zoo-gallery" / "README.md").read_text().split("---\n")[1])
    assert sorted(m.split("/", 1)[1] for m in meta["models"]) == zoo.list_models()


# -- the running app -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served():
    demo = build_demo(["sngan-lesions", "acgan-lesions", "cyclegan-pws", "eczema-remove"])
    demo.launch(prevent_thread_lock=True, quiet=True, show_error=True)
    yield demo, Client(demo.local_url, verbose=False)
    demo.close()


def _files(tmp_path):
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(60, 200, (40, 52, 3), dtype=np.uint8)).save(tmp_path / "skin.png")
    layer = np.zeros((40, 52, 4), np.uint8)
    layer[10:25, 15:35] = 255  # painted white, opaque
    Image.fromarray(layer).save(tmp_path / "layer.png")
    return tmp_path / "skin.png", tmp_path / "layer.png"


@pytest.mark.slow
def test_the_app_generates_translates_and_edits_through_its_api(served, tmp_path):
    _, client = served
    gallery, archive, code = client.predict("acgan-lesions", "df", 4, 3, 0, api_name="/generate")
    assert len(gallery) == 4 and Path(archive).suffix == ".zip" and "labels=['df'] * 4" in code
    skin, layer = _files(tmp_path)
    (before, after), note = client.predict("cyclegan-pws", "remove", handle_file(str(skin)), api_name="/translate")
    assert Image.open(after).size == (52, 40) and Image.open(before).size == (52, 40)
    editor = {"background": handle_file(str(skin)), "layers": [handle_file(str(layer))], "composite": None}
    result, overlay = client.predict("eczema-remove", editor, "remove", 2, api_name="/edit")
    out, original = np.asarray(Image.open(result), float), np.asarray(Image.open(skin), float)
    assert out.shape == original.shape and np.abs(out - original)[10:25, 15:35].mean() > 1


@pytest.mark.slow
def test_bad_inputs_are_messages_and_the_app_stays_up(served, tmp_path):
    from gradio_client.exceptions import AppError

    _, client = served
    skin, _ = _files(tmp_path)
    (tmp_path / "notes.png").write_text("not an image")
    cases = [
        (("cyclegan-pws", "remove", handle_file(str(tmp_path / "notes.png"))), "/translate",
         "the upload is not an image this demo can read"),
        (("eczema-remove", {"background": handle_file(str(skin)), "layers": [], "composite": None}, "remove", 0),
         "/edit", "the mask is empty"),
        (("sngan-lesions", None, 0, 0, 0), "/generate", "less than minimum value 1"),  # the slider's own check
    ]
    for args, api, message in cases:
        with pytest.raises(AppError, match=message):
            client.predict(*args, api_name=api)
    assert len(client.predict("sngan-lesions", None, 2, 0, 0, api_name="/generate")[0]) == 2  # still serving


@pytest.mark.slow
def test_32_concurrent_requests_all_succeed_with_bounded_memory(served, tmp_path):
    demo, client = served
    rng = np.random.default_rng(2)
    faces = []
    for i in range(16):  # as from different users (Gradio caches equal outputs under one file name)
        faces.append(tmp_path / f"face{i}.png")
        Image.fromarray(rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)).save(faces[-1])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    jobs = [client.submit("cyclegan-pws", "remove", handle_file(str(faces[i // 2])), api_name="/translate") if i % 2
            else client.submit("sngan-lesions", None, 8, i, 0, api_name="/generate") for i in range(32)]
    results = [job.result(timeout=240) for job in jobs]
    assert len(results) == 32
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {before:.0f} MB -> {peak:.0f} MB over 32 concurrent requests")
    assert peak - before < 1024  # the queue computes 2 at a time: no pile-up of images in memory


@pytest.mark.slow
def test_a_model_that_fails_to_load_is_a_message_and_the_others_serve(monkeypatch, tmp_path):
    from gradio_client.exceptions import AppError

    from zoo.errors import WeightsError

    real_load = zoo.load

    def load(model_id, **kwargs):
        if model_id == "acgan-lesions":
            raise WeightsError("generator.safetensors of acgan-lesions is truncated; download it again")
        return real_load(model_id, **kwargs)

    monkeypatch.setattr(actions.zoo, "load", load)
    demo = build_demo(["acgan-lesions", "cyclegan-pws"])  # the page is built although one model is broken
    demo.launch(prevent_thread_lock=True, quiet=True, show_error=True)
    try:
        client = Client(demo.local_url, verbose=False)
        with pytest.raises(AppError, match="acgan-lesions is truncated; download it again"):
            client.predict("acgan-lesions", None, 2, 0, 0, api_name="/generate")
        skin, _ = _files(tmp_path)
        (_, after), _ = client.predict("cyclegan-pws", "remove", handle_file(str(skin)), api_name="/translate")
        assert Image.open(after).size == (52, 40)
    finally:
        demo.close()
