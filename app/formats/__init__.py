"""Import and export of annotations in the formats people already use (Qt-free).

`base` holds the neutral `Dataset` every format reads and writes; `registry` finds a format by
name; one module per format; `project_io` moves a `Dataset` in and out of the store.
"""
