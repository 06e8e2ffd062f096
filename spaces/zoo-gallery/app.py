"""medgan-zoo gallery: a Hugging Face Space serving medgan-zoo models with the zoo"s own demo."""

from zoo.web.app import build_demo

demo = build_demo(title="medgan-zoo gallery")

if __name__ == "__main__":
    demo.launch()
