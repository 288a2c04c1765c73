"""Alaya Workstation: a desktop labeling workstation for the Alaya AI-data network."""

__version__ = "0.1.0"
