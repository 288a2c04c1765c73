"""The image canvas: view, scene items and the tool host."""
