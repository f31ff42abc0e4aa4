"""The unified customer: golden record with field provenance, and the 360-degree view."""
