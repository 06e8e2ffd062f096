"""The pluggy registry: entry points, isolation of broken plugins, duplicates, blocking, filters."""

import textwrap

import pytest

import zoo
from zoo.registry import BLOCK_ENV, Registry


def make_distribution(root, dist: str, modules: dict[str, str], entry_points: dict[str, str]):
    """An installed-looking distribution in ``root``: modules plus a dist-info with entry points."""
    for name, source in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    eps = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[medgan_zoo]\n{eps}\n")


GOOD = """
    from zoo import ModelSpec, hookimpl
    from medgan_zoo_plugins.dcgan.model import DCGAN

    @hookimpl
    def zoo_register_models(registry):
        registry.register(ModelSpec(id="{id}", model_class=DCGAN, modality="{modality}",
                                    defaults={{"image_size": (32, 48)}}))
"""


def test_builtin_family_comes_from_the_entry_point_group():
    registry = Registry.from_entry_points()
    assert registry.info("dcgan-lesions").plugin == "dcgan"
    assert "dcgan" in registry.plugins()
    assert registry.plugin_manager.has_plugin("dcgan")


def test_third_party_entry_point_is_listed(tmp_path, monkeypatch):
    make_distribution(tmp_path, "zoo_extra", {"zoo_extra": GOOD.format(id="extra-xray", modality="x-ray")},
                      {"extra": "zoo_extra"})
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry.from_entry_points()
    assert "extra-xray" in registry.list_models()
    spec = registry.info("extra-xray")
    assert (spec.plugin, spec.family, spec.image_size) == ("extra", "dcgan", (32, 48))


def test_broken_plugins_are_skipped_with_a_warning_naming_them(tmp_path, monkeypatch):
    make_distribution(
        tmp_path, "zoo_broken",
        {
            "zoo_import_error": "raise ImportError('missing dependency foo')",
            "zoo_hook_error": """
                from zoo import ModelSpec, hookimpl
                from medgan_zoo_plugins.dcgan.model import DCGAN

                @hookimpl
                def zoo_register_models(registry):
                    registry.register(ModelSpec(id="half-registered", model_class=DCGAN, modality="x"))
                    raise RuntimeError("boom")
            """,
            "zoo_bad_signature": """
                from zoo import hookimpl

                @hookimpl
                def zoo_register_models(registry, nonsense):
                    pass
            """,
            "zoo_fine": GOOD.format(id="fine-model", modality="dermoscopy"),
        },
        {"importfails": "zoo_import_error", "hookfails": "zoo_hook_error", "badsig": "zoo_bad_signature",
         "fine": "zoo_fine"},
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(zoo.PluginWarning) as record:
        registry = Registry.from_entry_points()
    messages = " | ".join(str(w.message) for w in record)
    for name in ("importfails", "hookfails", "badsig"):
        assert f"plugin {name!r}" in messages
    assert "missing dependency foo" in messages and "boom" in messages
    assert set(registry.skipped) == {"importfails", "hookfails", "badsig"}
    # the rest of the zoo works, and the failing hook's partial registration was discarded
    assert {"dcgan-lesions", "fine-model"} <= set(registry.list_models())
    assert "half-registered" not in registry


def test_duplicate_ids_name_both_plugins(tmp_path, monkeypatch):
    make_distribution(tmp_path, "zoo_dup", {"zoo_dup": GOOD.format(id="dcgan-lesions", modality="x")},
                      {"dupe": "zoo_dup"})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(zoo.PluginWarning) as caught:
        registry = Registry.from_entry_points()
    message = " ".join(str(w.message) for w in caught)
    assert "'dcgan'" in message and "'dupe'" in message and f"{BLOCK_ENV}=dupe" in message
    # the built-in keeps its id (built-ins load first), and the rest of the zoo works
    assert registry.info("dcgan-lesions").plugin == "dcgan" and "dupe" in registry.skipped
    assert "sngan-lesions" in registry
    # ... and the environment variable silences it
    monkeypatch.setenv(BLOCK_ENV, "dupe")
    assert Registry.from_entry_points().info("dcgan-lesions").plugin == "dcgan"


def test_block_env_var_blocks_named_plugins(monkeypatch):
    monkeypatch.setenv(BLOCK_ENV, "dcgan, someother")
    registry = Registry.from_entry_points()
    assert "dcgan-lesions" not in registry.list_models()
    assert registry.plugin_manager.is_blocked("dcgan")


def test_filters_and_patterns(toys):
    assert zoo.list_models("*lesions") == ["acgan-lesions", "dcgan-lesions", "ddpm-lesions", "sngan-lesions"]
    assert zoo.list_models("lesion-*") == ["lesion-add", "lesion-remove"]
    assert zoo.list_models(task="masked-edit", plugin="toy") == ["toy-edit"]
    assert zoo.list_models("toy-*", family="toy-c*") == ["toy-conditional"]
    assert zoo.list_models(modality="dermoscopy", task="unconditional", family="dcgan") == ["dcgan-lesions"]
    assert zoo.list_models(modality="dental*") == ["wgan-gp-dental"]
    assert zoo.list_models(plugin="toy") == ["toy-conditional", "toy-edit", "toy-translate"]
    assert zoo.list_models("nothing*") == []
    with pytest.raises(TypeError, match="unknown filter"):
        zoo.list_models(colour="red")


def test_info_reads_sizes_from_the_family_constructor(toys):
    spec = zoo.info("toy-conditional")
    assert spec.image_size == (8, 8) and spec.channels == 3 and spec.class_names == ("df", "mel", "vasc")
    assert zoo.info("dcgan-lesions").config["latent_dim"] == 100


def test_unknown_id_suggests_the_closest():
    with pytest.raises(zoo.UnknownModelError, match="Did you mean 'dcgan-lesions'"):
        zoo.info("dcgan-lesion")
    with pytest.raises(zoo.UnknownModelError, match="Did you mean 'dcgan-lesions'"):
        zoo.load("dcgan_lesions")


def test_spec_rejects_defaults_the_family_does_not_take():
    from medgan_zoo_plugins.dcgan.model import DCGAN

    with pytest.raises(TypeError, match="imagesize"):
        zoo.ModelSpec(id="x", model_class=DCGAN, modality="x", defaults={"imagesize": 3})


def test_entry_point_name_clash_is_warned_not_silent(tmp_path, monkeypatch):
    make_distribution(tmp_path, "zoo_clash", {"zoo_clash": GOOD.format(id="clash-model", modality="x")},
                      {"dcgan": "zoo_clash"})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(zoo.PluginWarning, match="name is taken"):
        registry = Registry.from_entry_points()
    assert "dcgan-lesions" in registry or "clash-model" in registry  # exactly one of them won, loudly
    assert ("dcgan-lesions" in registry) != ("clash-model" in registry)


def test_a_plugin_registering_an_id_twice_is_named(tmp_path, monkeypatch):
    source = """
        from zoo import ModelSpec, hookimpl
        from medgan_zoo_plugins.dcgan.model import DCGAN

        @hookimpl
        def zoo_register_models(registry):
            for model_id in ("first-ok", "dup-in-plugin", "dup-in-plugin"):
                registry.register(ModelSpec(id=model_id, model_class=DCGAN, modality="x"))
    """
    make_distribution(tmp_path, "zoo_twice", {"zoo_twice": source}, {"twice": "zoo_twice"})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(zoo.PluginWarning, match="plugin 'twice': it registers model id 'dup-in-plugin' twice"):
        registry = Registry.from_entry_points()
    assert "first-ok" not in registry and "dcgan-lesions" in registry  # all of the plugin, or none of it


def test_family_without_image_size_is_skipped_not_fatal(tmp_path, monkeypatch):
    source = """
        from torch import nn
        from zoo import GANModel, ModelSpec, hookimpl

        class Sizeless(GANModel):
            family = "sizeless"
            task = "unconditional"

            def __init__(self, width: int = 4):
                super().__init__()
                self.generator = nn.Linear(width, width)

        @hookimpl
        def zoo_register_models(registry):
            registry.register(ModelSpec(id="sizeless-model", model_class=Sizeless, modality="x"))
    """
    make_distribution(tmp_path, "zoo_sizeless", {"zoo_sizeless": source}, {"sizeless": "zoo_sizeless"})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(zoo.PluginWarning, match=r"sizeless.*needs arguments with defaults \['channels', 'image_size'\]"):
        registry = Registry.from_entry_points()
    assert "sizeless-model" not in registry and "dcgan-lesions" in registry


def test_none_filters_are_ignored():
    assert zoo.list_models(task=None, family="dcgan") == ["dcgan-lesions"]


# -- tasks, hook checking, card facts --------------------------------------------------------------

def test_builtin_tasks_come_from_a_plugin_like_any_other():
    registry = Registry.from_entry_points()
    assert registry.tasks() == ["class-conditional", "masked-edit", "paired-translation", "unconditional",
                                "unpaired-translation"]
    assert {registry.task(name).plugin for name in registry.tasks()} == {"tasks"}
    assert registry.task("masked-edit").inputs == "image+mask" and registry.task("class-conditional").labelled


def test_blocking_the_task_plugin_skips_every_family_that_needs_it(monkeypatch):
    monkeypatch.setenv(BLOCK_ENV, "tasks")
    with pytest.warns(zoo.PluginWarning, match="'dcgan'.*task 'unconditional', which no installed plugin registers"):
        registry = Registry.from_entry_points()
    assert registry.list_models() == [] and registry.tasks() == []


def test_a_misspelled_hook_is_a_warning_naming_the_plugin_and_the_hook(tmp_path, monkeypatch):
    source = GOOD.replace("def zoo_register_models(", "def zoo_register_model(")
    make_distribution(tmp_path, "zoo_typo", {"zoo_typo": source.format(id="typo-model", modality="x")},
                      {"typo": "zoo_typo"})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(zoo.PluginWarning, match=r"plugin 'typo'.*'zoo_register_model' \(did you mean "
                                               r"'zoo_register_models'\?\)"):
        registry = Registry.from_entry_points()
    assert "typo" in registry.skipped and "dcgan-lesions" in registry


def test_a_third_party_task_is_registered_and_its_models_served(tmp_path, monkeypatch):
    source = """
        import torch
        from zoo.plugin import TaskSpec, ModelSpec, UnconditionalPipeline, hookimpl, read_images, generation_grid
        from medgan_zoo_plugins.dcgan.model import DCGAN

        class Sketch(DCGAN):
            family, task = "sketch", "sketch"

        @hookimpl
        def zoo_register_tasks(registry):
            registry.register(TaskSpec(name="sketch", pipeline=UnconditionalPipeline, pipeline_tag="x",
                                       read_data=read_images, sample_grid=generation_grid, inputs="noise",
                                       usage=lambda model, name: ("out = pipe(2)", f"zoo generate {name} -o x/")))

        @hookimpl
        def zoo_register_models(registry):
            registry.register(ModelSpec(id="sketch-model", model_class=Sketch, modality="x",
                                        defaults={"image_size": (16, 16)}))
    """
    make_distribution(tmp_path, "zoo_sketch", {"zoo_sketch": source}, {"sketch": "zoo_sketch"})
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry.from_entry_points()
    assert registry.task("sketch").plugin == "sketch" and registry.list_models(task="sketch") == ["sketch-model"]


def test_unknown_task_names_the_registered_ones():
    with pytest.raises(zoo.UnknownModelError, match="unknown task 'segmentation'.*masked-edit"):
        zoo.get_registry().task("segmentation")


def test_every_card_facts_file_follows_the_schema():
    import json
    from pathlib import Path

    import jsonschema
    import yaml

    root = Path(__file__).resolve().parents[1]
    schema = json.loads((root / "cards" / "card-facts.schema.json").read_text())
    files = sorted(root.glob("plugins/*/cards/*.yaml"))
    assert {f.stem for f in files} == set(zoo.list_models())  # one file per built-in id, no stray ones
    for path in files:
        facts = yaml.safe_load(path.read_text())
        jsonschema.validate(facts, schema)
        assert facts["id"] == path.stem and facts["changelog"][0]["version"] == facts["version"]
        assert zoo.info(path.stem).version == facts["version"]


def test_card_facts_errors_name_the_file_and_field(tmp_path):
    from zoo.hub.facts import read_card_facts

    path = tmp_path / "x.yaml"
    path.write_text("id: x\nversion: 1.0.0\n")
    with pytest.raises(zoo.ConfigError, match=r"x.yaml: missing \[.*'modality'"):
        read_card_facts(path)


def test_the_plugin_docs_family_example_runs(tmp_path):
    """docs/plugins.md's family example, as printed: it registers, creates, generates and round-trips."""
    import re
    import types
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
    source = next(block for block in re.findall(r"```python\n(.*?)```", text, re.S) if "class TinyGAN" in block)
    module = types.ModuleType("my_gan")
    exec(compile(source, "docs/plugins.md", "exec"), module.__dict__)
    registry = zoo.get_registry()
    registry.add_plugin(module, "docs-example")
    try:
        model = zoo.create("tinygan-xray", **zoo.info("tinygan-xray").tiny)
        assert zoo.pipeline_for(model)(num_images=2).tensors.shape == (2, 1, 16, 16)
        model.save_pretrained(tmp_path)
        assert zoo.load(str(tmp_path)).model.config["image_size"] == [16, 16]
    finally:
        registry.remove_plugin("docs-example")


def test_card_facts_images_are_shown_in_the_card(tmp_path, monkeypatch):
    import yaml

    from zoo.hub.facts import read_card_facts

    spec = zoo.info("sngan-lesions")
    facts = yaml.safe_load((spec.weights.parents[1] / "cards" / "sngan-lesions.yaml").read_text())
    facts["images"] = [{"file": "samples.png", "caption": "64 samples, seed 0"}]
    path = tmp_path / "sngan-lesions.yaml"
    path.write_text(yaml.safe_dump(facts))
    assert read_card_facts(path)["images"] == ({"file": "samples.png", "caption": "64 samples, seed 0"},)
    registry = zoo.get_registry()
    monkeypatch.setitem(registry._specs, "sngan-lesions",
                        zoo.ModelSpec.from_card_facts(path, spec.model_class, weights=spec.weights, plugin=spec.plugin))
    card = str(zoo.load("sngan-lesions").model.generate_model_card())
    assert "![64 samples, seed 0](samples.png)" in card
    facts["images"] = [{"file": "samples.png"}]
    path.write_text(yaml.safe_dump(facts))
    with pytest.raises(zoo.ConfigError, match=r"images\[0\]: missing \['caption'\]"):
        read_card_facts(path)


def test_a_plugin_cannot_take_over_a_family_nor_register_a_non_model(tmp_path, monkeypatch):
    sources = {
        "zoo_hijack": """
            from zoo.plugin import ModelSpec, UnconditionalGAN, hookimpl
            from medgan_zoo_plugins.dcgan.model import DCGAN

            class Impostor(DCGAN):
                pass  # family = "dcgan", inherited: it would load every DCGAN folder

            @hookimpl
            def zoo_register_models(registry):
                registry.register(ModelSpec(id="impostor", model_class=Impostor, modality="x"))
        """,
        "zoo_notamodel": """
            from zoo.plugin import ModelSpec, hookimpl

            class NotAModel:
                family, task = "nothing", "unconditional"
                def __init__(self, image_size=8, channels=1): ...

            @hookimpl
            def zoo_register_models(registry):
                registry.register(ModelSpec(id="not-a-model", model_class=NotAModel, modality="x"))
        """,
        "zoo_exits": "import sys\nsys.exit(3)\n",
    }
    make_distribution(tmp_path, "zoo_bad", sources,
                      {"hijack": "zoo_hijack", "notamodel": "zoo_notamodel", "exits": "zoo_exits"})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(zoo.PluginWarning) as caught:
        registry = Registry.from_entry_points()
    message = " ".join(str(w.message) for w in caught)
    assert "plugin 'hijack'" in message and "calls itself family 'dcgan'" in message
    assert "plugin 'notamodel'" in message and "must be a subclass of zoo.plugin.GANModel" in message
    assert "plugin 'exits'" in message and "called sys.exit(3)" in message
    assert set(registry.skipped) == {"hijack", "notamodel", "exits"}
    assert registry.family_class("dcgan").__name__ == "DCGAN" and "dcgan-lesions" in registry
