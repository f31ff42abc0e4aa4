"""The ``insightloop`` command line: a thin layer over :class:`insightloop.Workspace`."""
