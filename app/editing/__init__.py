"""Editing one asset: the document, its history, the selection, and saving every edit at once."""
