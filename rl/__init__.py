"""Adaptive scanning: the Gymnasium environment and SB3 agents (filled in by a later issue)."""
