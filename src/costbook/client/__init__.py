"""The client layer: usage from API answers, tracked SDK clients and spend limits."""
