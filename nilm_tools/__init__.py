"""Tools behind scripts/: evaluation, benchmarks, simulator, quality checks, a real Home Assistant for development."""
