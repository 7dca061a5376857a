"""The HTTP face: the API, the OpenAI-compatible routes, the widget, keys and workers."""
