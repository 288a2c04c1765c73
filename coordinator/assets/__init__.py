"""Assets: declared by SHA-256, uploaded in resumable chunks, downloaded with ranges."""
