"""The Gradio app behind ``zoo demo`` and the Spaces: one tab per kind of view, chosen from each
model's task (noise -> Generate, image -> Translate, image + mask -> Edit), so a third-party
plugin's model gets the right view without this module naming it."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import zoo
from zoo.errors import UnknownModelError, ZooError
from zoo.registry import generates_classes, task_of
from zoo.web.actions import (
    NOT_FOR_DIAGNOSIS,
    VIEW_OF_INPUTS,
    ModelCache,
    card_markdown,
    edit,
    fit_for_demo,
    generate,
    latent_walk,
    mask_from_editor,
    translate,
    view_kind,
)

__all__ = ["build_demo", "serve", "CONCURRENCY", "QUEUE_SIZE"]

CONCURRENCY = 2  # requests computed at once: a CPU gains nothing from more, and memory stays bounded
QUEUE_SIZE = 64  # requests waiting beyond that are turned away with a message, not piled up


def _ui_errors(fn):
    """Expected failures become a message in the page (gr.Error), never a stack trace."""
    import gradio as gr

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ZooError, ValueError, OSError, LookupError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None
    return wrapped


def _checked(component):
    """``component`` (an image input) with unreadable uploads (a text file, a damaged image) turned
    into a message in the page instead of a decoder's traceback. The instance's method is wrapped:
    a subclass would make Gradio write a type stub beside this module."""
    import gradio as gr

    preprocess = component.preprocess

    def checked(payload):
        try:
            return preprocess(payload)
        except Exception as exc:
            raise gr.Error(f"the upload is not an image this demo can read ({type(exc).__name__}); upload a "
                           "PNG, JPEG, TIFF or BMP file", print_exception=False) from None

    component.preprocess = checked
    return component


def _kind(model_id: str, cache: ModelCache) -> str:
    try:
        return view_kind(model_id)
    except UnknownModelError:  # a model folder or Hub repo: ask its loaded pipeline's task
        task = task_of(cache.get(model_id))
        if task is None:
            raise
        return VIEW_OF_INPUTS[task.inputs]


def _directions(pipe) -> list[str]:
    """The direction names to offer: the model's own ('remove', 'add') where it has them."""
    names = list(getattr(pipe, "directions", {}))
    own = [n for n in names if n not in ("AtoB", "BtoA")]
    return own or names


def _generation_view(ids: list[str], cache: ModelCache) -> None:
    import gradio as gr

    with gr.Row():
        with gr.Column(scale=1):
            model = gr.Dropdown(ids, value=ids[0], label="Model")
            pipes = {m: cache.peek(m) for m in ids}
            classes = {m: list(pipe.class_names) for m, pipe in pipes.items() if pipe and generates_classes(pipe)}
            offered = sorted({name for names in classes.values() for name in names})
            first = classes.get(ids[0], [])
            label = gr.Dropdown(offered, value=first[0] if first else None, label="Class", visible=bool(first))
            count = gr.Slider(1, 64, value=16, step=1, label="Number of images")
            seed = gr.Number(0, precision=0, label="Seed")
            truncation = gr.Slider(0, 2, value=0, step=0.05, label="Truncation (0: off; smaller: typical, less varied)")
            run = gr.Button("Generate", variant="primary")
        with gr.Column(scale=2):
            gallery = gr.Gallery(label="Samples", columns=8, height="auto")
            archive = gr.File(label="Download the images (zip)")
            code = gr.Code(language="python", label="The same images from Python")
        with gr.Column(scale=1):
            card = gr.Markdown(card_markdown(ids[0]))
    with gr.Accordion("Latent walk: from one seed's image to another's", open=False):
        with gr.Row():
            seed_a = gr.Number(0, precision=0, label="From seed")
            seed_b = gr.Number(1, precision=0, label="To seed")
            steps = gr.Slider(2, 32, value=8, step=1, label="Steps")
            walk = gr.Button("Walk")
        strip = gr.Image(label="Walk", type="pil")
        with gr.Row():
            gif = gr.Image(label="Animated (GIF)", type="filepath")
            webp = gr.File(label="Animated WebP")

    @_ui_errors
    def choose(model_id):
        names = classes.get(model_id, [])
        return card_markdown(model_id), gr.update(value=names[0] if names else None, visible=bool(names))

    @_ui_errors
    def make(model_id, label_name, n, seed_value, trunc, progress=gr.Progress(track_tqdm=True)):
        pipe = cache.get(model_id)
        names = classes.get(model_id, [])
        if names and label_name not in names:
            raise ValueError(f"{model_id} has no class {label_name!r}; its classes: {names}")
        out = generate(pipe, model_id, n, seed_value, trunc, label_name if names else None, progress=True)
        return out.images, str(out.zip_path), out.code

    @_ui_errors
    def walk_between(model_id, a, b, n, trunc):
        strip_image, gif_path, webp_path = latent_walk(cache.get(model_id), a, b, n, trunc)
        return strip_image, str(gif_path), str(webp_path)

    model.change(choose, model, [card, label], api_name=False)
    run.click(make, [model, label, count, seed, truncation], [gallery, archive, code], api_name="generate")
    walk.click(walk_between, [model, seed_a, seed_b, steps, truncation], [strip, gif, webp], api_name="walk")


def _translation_view(ids: list[str], cache: ModelCache) -> None:
    import gradio as gr

    with gr.Row():
        with gr.Column(scale=1):
            model = gr.Dropdown(ids, value=ids[0], label="Model")
            # Every model's names: the API checks a value against the choices the view was built with.
            pipes = [pipe for pipe in map(cache.peek, ids) if pipe is not None]
            offered = sorted({name for pipe in pipes for name in _directions(pipe)})
            first = cache.peek(ids[0])
            direction = gr.Radio(offered, value=getattr(first, "default_direction", None), label="Direction",
                                 visible=first is not None and len(_directions(first)) > 1)
            # A file path: the zoo reads it, so a wrong file gets the zoo's message, not a decoder's trace.
            source = _checked(gr.Image(label="Input", type="filepath", sources=["upload", "webcam", "clipboard"]))
            run = gr.Button("Translate", variant="primary")
        with gr.Column(scale=2):
            slider = gr.ImageSlider(label="Before / after", type="pil", format="png")
            note = gr.Markdown()
        with gr.Column(scale=1):
            card = gr.Markdown(card_markdown(ids[0]))

    @_ui_errors
    def choose(model_id):
        pipe = cache.get(model_id)
        names = _directions(pipe)
        return card_markdown(model_id), gr.update(value=getattr(pipe, "default_direction", None),
                                                  visible=len(names) > 1)

    @_ui_errors
    def run_translation(model_id, way, image, progress=gr.Progress(track_tqdm=True)):
        pipe = cache.get(model_id)
        if way not in getattr(pipe, "directions", {way: way}):  # a name another model of the view has
            way = getattr(pipe, "default_direction", None)
        before, after, message = translate(pipe, image, way)
        return (before, after), message

    model.change(choose, model, [card, direction], api_name=False)
    run.click(run_translation, [model, direction, source], [slider, note], api_name="translate")
    return None


def _mode(pipe) -> str:
    return getattr(pipe, "default_mode", "remove")


def _editor_for(model_id: str, mode: str, ids: list[str], cache: ModelCache) -> str:
    """The served model that does ``mode``: the chosen one, or its sibling ('eczema-remove' for
    'eczema-add' asked to remove), as mask editors come one model per direction."""
    if _mode(cache.get(model_id)) == mode:
        return model_id
    sibling = f"{model_id.rsplit('-', 1)[0]}-{mode}"
    return sibling if sibling in ids else model_id  # else the model's own message names what to load


def _edit_view(ids: list[str], cache: ModelCache) -> None:
    import gradio as gr

    with gr.Row():
        with gr.Column(scale=1):
            model = gr.Dropdown(ids, value=ids[0], label="Model")
            canvas = _checked(gr.ImageEditor(label="Image: paint the area to edit", type="filepath",
                                    brush=gr.Brush(colors=["#ffffff"], color_mode="fixed", default_size=24),
                                    layers=False, sources=["upload", "webcam", "clipboard"]))
            mode = gr.Radio(["remove", "add"], value=_mode(cache.peek(ids[0])), label="Mode")
            grow = gr.Slider(0, 16, value=0, step=1, label="Grow mask (pixels)")
            run = gr.Button("Edit", variant="primary")
        with gr.Column(scale=2):
            result = gr.Image(label="Result", type="pil", format="png")
            overlay = gr.Image(label="Mask over the input", type="pil", format="png")
        with gr.Column(scale=1):
            card = gr.Markdown(card_markdown(ids[0]))

    @_ui_errors
    def choose(model_id):
        return card_markdown(model_id), gr.update(value=_mode(cache.get(model_id)))

    @_ui_errors
    def run_edit(model_id, value, how, pixels, progress=gr.Progress(track_tqdm=True)):
        if not isinstance(value, dict) or value.get("background") is None:
            raise ValueError("no image: upload one, then paint the area to edit")
        image, _ = fit_for_demo(value["background"])
        if image.mode == "RGBA" and image.getextrema()[3][0] == 255:
            image = image.convert("RGB")  # an opaque editor canvas: the photo itself
        mask = mask_from_editor(value, image.size)
        return edit(cache.get(_editor_for(model_id, how, ids, cache)), image, mask, how, pixels)

    model.change(choose, model, [card, mode], api_name=False)
    run.click(run_edit, [model, canvas, mode, grow], [result, overlay], api_name="edit")


VIEWS = {"generate": ("Generate", _generation_view), "translate": ("Translate", _translation_view),
         "edit": ("Edit inside a mask", _edit_view)}


def build_demo(model_ids: Sequence[str] | None = None, *, device: str | None = None, title: str = "medgan-zoo",
               cache: ModelCache | None = None):
    """The demo app for ``model_ids`` (registered ids, model folders or Hub repos; default: every
    registered model), one tab per kind of view. Nothing is loaded until a model is first used."""
    import gradio as gr

    cache = cache or ModelCache(device)
    ids = list(model_ids) if model_ids else zoo.list_models()
    if not ids:
        raise ZooError("no model to serve: name model ids (zoo list shows them)")
    groups: dict[str, list[str]] = {kind: [] for kind in VIEWS}
    for model_id in ids:
        groups[_kind(model_id, cache)].append(model_id)
    with gr.Blocks(title=title, analytics_enabled=False) as demo:
        gr.Markdown(f"# {title}\nGenerative models for medical and dermatological images, served by "
                    f"medgan-zoo.\n\n{NOT_FOR_DIAGNOSIS}")
        with gr.Tabs():
            for kind, (tab, view) in VIEWS.items():
                if groups[kind]:
                    with gr.Tab(tab):
                        view(groups[kind], cache)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    return demo


def serve(model_ids: Sequence[str] | None = None, *, host: str = "127.0.0.1", port: int | None = None,
          share: bool = False, device: str | None = None, prevent_thread_lock: bool = False):
    """Build the demo and start it on ``host:port`` (a free port from 7860 when None)."""
    demo = build_demo(model_ids, device=device)
    demo.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=prevent_thread_lock,
                show_error=True, quiet=prevent_thread_lock)
    return demo
