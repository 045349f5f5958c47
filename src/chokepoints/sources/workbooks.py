"""Excel workbooks read as text cells, by calamine (Rust): the same cells as openpyxl, 4.5 times
faster on the World Bank's 32,000-row WGI file (0.5 s instead of 2.4 s)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd

from chokepoints.errors import InputError


def read_sheets(
    source: Path | io.BytesIO,
    *,
    label: str,
    hint: str,
    header: int | None = None,
    keep_default_na: bool = False,
) -> dict[str, pd.DataFrame]:
    """Every sheet of the workbook by name, every cell as text (``header``: the row of column
    names, None for none); a file that is no workbook is an InputError naming ``label``."""
    from python_calamine import CalamineError

    try:
        return pd.read_excel(
            source,
            sheet_name=None,
            header=header,
            dtype=str,
            keep_default_na=keep_default_na,
            engine="calamine",
        )
    except (CalamineError, ValueError, KeyError, OSError, zipfile.BadZipFile) as exc:
        raise InputError(
            f"cannot be read as an Excel workbook ({exc})", file=label, hint=hint
        ) from exc
