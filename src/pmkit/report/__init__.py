"""Turning analyses into documents: figures, notebooks, rendered files."""
