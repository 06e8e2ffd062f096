"""Port-wine stain removal: a Hugging Face Space serving medgan-zoo models with the zoo"s own demo."""

from zoo.web.app import build_demo

demo = build_demo(["cyclegan-pws", "pix2pix-pws"], title="Port-wine stain removal")

if __name__ == "__main__":
    demo.launch()
