"""Workspace answers computed once per process and handed out as copies.

For tests that run the same command several times only to see its answer drawn differently
(at several terminal widths, piped, as JSON): the answer is the same each time, its
rendering is what they look at. Each call gets a deep copy, so a command that changes the
frames it prints cannot change what the next one sees. Answers are kept by store folder and
arguments, not by store generation: use it only where the store does not change in the block.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from chokepoints.workspace import Workspace

#: The questions of the commands on screen.
QUESTIONS = ("dependencies", "shock", "diversify", "compare")


@contextmanager
def answers_kept(questions: tuple[str, ...] = QUESTIONS) -> Iterator[None]:
    """Within the block, each of ``questions`` is computed once per (store, arguments)."""
    kept: dict[tuple[str, ...], Any] = {}
    originals = {name: getattr(Workspace, name) for name in questions}

    def keeping(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def ask(self: Workspace, *args: Any, **kwargs: Any) -> Any:
            key = (str(self.home), name, repr(args), repr(sorted(kwargs.items())))
            if key not in kept:
                kept[key] = original(self, *args, **kwargs)
            return copy.deepcopy(kept[key])

        return ask

    for name, original in originals.items():
        setattr(Workspace, name, keeping(name, original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(Workspace, name, original)
