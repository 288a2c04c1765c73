"""The Qt-free annotation domain: shapes, masks, geometry, documents, tracks, segments."""
