"""Prompt texts, one file per prompt, loaded by name with ``assistant.answering.prompts.load``."""
