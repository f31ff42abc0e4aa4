"""Package version, kept in one place for the build backend and the run records."""

__version__ = "0.1.0"
