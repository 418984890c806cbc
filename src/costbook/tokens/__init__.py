"""The tokens layer: offline token counting and pre-flight estimates of requests."""
