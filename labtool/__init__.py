"""labtool: compile, run and verify P4 labs on BMv2 + Mininet.

The engine is a library; `labtool.cli` is a thin Click layer over it.
See ARCHITECTURE.md for how a `labtool run` flows through the modules.
"""

__version__ = "0.1.0"
