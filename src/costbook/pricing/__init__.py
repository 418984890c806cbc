"""The pricing layer: tables, the catalog, usage, costs and the exact calculator."""
