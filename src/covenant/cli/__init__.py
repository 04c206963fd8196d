"""The ``covenant`` command: arguments in, library calls, renderers out.

One module per command group, the options they share, exits and writing.
"""
