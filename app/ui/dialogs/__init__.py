"""Dialogs: settings, shortcuts. Each takes plain values and returns plain values."""
