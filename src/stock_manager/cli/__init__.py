"""The ``stock-manager`` command line."""
