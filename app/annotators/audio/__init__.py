"""Audio annotation: time segments with labels, speakers and transcripts."""
