"""Re-render the model card (README.md) of every embedded-weights folder from its card facts.

    python scripts/render_cards.py            # all ids with embedded weights
    python scripts/render_cards.py sngan-lesions

Run it after editing a plugin's ``cards/<id>.yaml``; the weights are not touched. The test suite
checks that each embedded card equals what this renders.
"""

import argparse

import zoo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_ids", nargs="*", help="ids to render (default: every id with embedded weights)")
    args = parser.parse_args()
    for model_id in args.model_ids or [m for m in zoo.list_models() if zoo.info(m).has_embedded_weights]:
        spec = zoo.info(model_id)
        if not spec.has_embedded_weights:
            raise SystemExit(f"{model_id} has no embedded weights to render a card for")
        card = zoo.load(model_id).model.generate_model_card()
        (spec.weights / "README.md").write_text(str(card), encoding="utf-8")
        print(f"rendered {spec.weights / 'README.md'}")


if __name__ == "__main__":
    main()
