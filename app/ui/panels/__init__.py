"""Dock panels: each a small widget bound to one piece of state (a project, a task list, a session)."""
