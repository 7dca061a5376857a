"""Text utilities shared by ingest and answering: sentences, dates, normalisation."""
