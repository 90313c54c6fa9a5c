"""The ``medlens`` command line (Typer): thin commands over importable functions."""
