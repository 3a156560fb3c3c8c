"""omnidrop: a self-hosted ingest and processing server for 360° and immersive captures."""

__version__ = "0.1.0"
