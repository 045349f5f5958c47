"""chokepoints: find, stress-test and reduce import dependencies from public trade data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from chokepoints.workspace import Workspace

__all__ = ["Workspace", "__version__"]


def __getattr__(name: str) -> Any:
    """``chokepoints.Workspace``, imported on first use (PEP 562): importing the package, as
    every command does, then costs no query engine nor data frame library."""
    if name == "Workspace":
        from chokepoints.workspace import Workspace

        return Workspace
    raise AttributeError(f"module 'chokepoints' has no attribute {name!r}")
