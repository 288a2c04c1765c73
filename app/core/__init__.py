"""Qt-free infrastructure: errors, settings, events, history, executors."""
