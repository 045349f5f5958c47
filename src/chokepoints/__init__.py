"""chokepoints: find, stress-test and reduce import dependencies from public trade data."""

__version__ = "0.1.0"
