"""chokepoints: find, stress-test and reduce import dependencies from public trade data."""

__version__ = "0.1.0"

from chokepoints.workspace import Workspace  # after __version__, which it imports

__all__ = ["Workspace", "__version__"]
