"""The web chat (Gradio): its page, state and static assets."""
