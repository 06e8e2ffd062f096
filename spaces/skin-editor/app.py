"""Skin editor: a Hugging Face Space serving medgan-zoo models with the zoo"s own demo."""

from zoo.web.app import build_demo

demo = build_demo(["eczema-remove", "eczema-add", "lesion-remove", "lesion-add"], title="Skin editor")

if __name__ == "__main__":
    demo.launch()
