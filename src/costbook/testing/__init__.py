"""The testing layer: the pytest plugin and assertions for LLM code under test."""
