"""The faces: how people and programs reach the assistant (web chat, HTTP, CLI, MCP)."""
