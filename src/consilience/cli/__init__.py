"""Command-line entry points. Nothing statistical lives here: commands parse, call the core, print."""
