"""Callbacks that record calls made through other libraries (LangChain, LiteLLM)."""
