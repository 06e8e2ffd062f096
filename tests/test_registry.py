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
    make_distribution(tmp_path, "zoo_dup", {"zoo_dup": GOOD.format(id="dcgan-lesions", modality="x")}, {"dupe": "zoo_dup"})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(zoo.DuplicateModelError) as err:
        Registry.from_entry_points()
    assert "'dcgan'" in str(err.value) and "'dupe'" in str(err.value) and BLOCK_ENV in str(err.value)
    # ... and the environment variable is the way out
    monkeypatch.setenv(BLOCK_ENV, "dupe")
    assert Registry.from_entry_points().info("dcgan-lesions").plugin == "dcgan"


def test_block_env_var_blocks_named_plugins(monkeypatch):
    monkeypatch.setenv(BLOCK_ENV, "dcgan, someother")
    registry = Registry.from_entry_points()
    assert "dcgan-lesions" not in registry.list_models()
    assert registry.plugin_manager.is_blocked("dcgan")


def test_filters_and_patterns(toys):
    assert zoo.list_models("*lesions") == ["acgan-lesions", "dcgan-lesions", "sngan-lesions"]
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
    with pytest.raises(zoo.DuplicateModelError, match="plugin 'twice' registers model id 'dup-in-plugin' twice"):
        Registry.from_entry_points()


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
