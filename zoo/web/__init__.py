"""Web demos (Gradio): the zoo in the browser."""
