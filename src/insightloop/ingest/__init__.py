"""Ingestion: sources, readers and the normalisation of what they deliver into the canonical
model (batch files, databases and, later, real-time events)."""
