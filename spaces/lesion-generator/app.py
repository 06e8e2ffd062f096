"""Skin-lesion generators: a Hugging Face Space serving medgan-zoo models with the zoo"s own demo."""

from zoo.web.app import build_demo

demo = build_demo(["sngan-lesions", "acgan-lesions"], title="Skin-lesion generators")

if __name__ == "__main__":
    demo.launch()
