"""Answering a question: retrieval, the offline reader, abstention, short answers, chat models."""
