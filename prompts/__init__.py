"""Prompt texts, one file per prompt, loaded by name with ``assistant.prompts.load``."""
