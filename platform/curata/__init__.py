"""Curata: dataset curation, labeling and versioning."""
__version__ = "0.1.0"
