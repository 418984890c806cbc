"""The ``costbook`` command line: each command is one library call plus formatting."""
