"""Dental radiographs: a Hugging Face Space serving medgan-zoo models with the zoo"s own demo."""

from zoo.web.app import build_demo

demo = build_demo(["wgan-gp-dental"], title="Dental radiographs")

if __name__ == "__main__":
    demo.launch()
