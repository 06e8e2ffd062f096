"""Model card templates (Hugging Face model card format, Jinja2 with YAML front matter).

Installed as ``medgan_zoo_cards``; rendered by :func:`zoo.hub.cards.render_model_card`.
"""
