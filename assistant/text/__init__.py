"""Text utilities shared by ingest and answering: sentence boundaries, month names and dates."""
