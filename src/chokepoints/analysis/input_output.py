"""Input-output propagation on multi-regional tables: reliance, value added, extraction.

Pure numpy kernels on materialised frames (METHODS.md section 4). Every frame is labelled by a
``(region, sector)`` MultiIndex, as pymrio's ``IOSystem`` is; results carry the same labels.
Notation (Miller & Blair 2009, *Input-Output Analysis*, 2nd ed.): ``Z`` inter-industry flows
(rows sell, columns buy), ``x`` gross output, ``y`` final demand, ``A = Z diag(x)^-1``,
``L = (I - A)^-1`` and ``x = L y``. Systems ``(I - A) x = y`` are solved by LU factorisation
(``numpy.linalg.solve``), never by multiplying with an explicitly inverted matrix.
"""

# ruff: noqa: N803  (textbook notation: Z, A, L as in Miller & Blair)
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from chokepoints.errors import InputError, UnknownCodeError

Regions = str | Sequence[str]


def technical_coefficients(Z: pd.DataFrame, x: pd.Series) -> pd.DataFrame:
    """Input coefficients ``A = Z diag(x)^-1``: inputs bought per unit of the buyer's output.

    Columns of sectors with zero output get zero coefficients (Miller & Blair 2009, eq. 2.4).
    """
    _check_square(Z, "Z")
    output = _aligned(x, Z.columns, "x").to_numpy(dtype=float)
    scale = np.divide(1.0, output, out=np.zeros_like(output), where=output != 0)
    return pd.DataFrame(Z.to_numpy(dtype=float) * scale, index=Z.index, columns=Z.columns)


def leontief_inverse(A: pd.DataFrame) -> pd.DataFrame:
    """Total requirements ``L = (I - A)^-1`` (Miller & Blair 2009, eq. 2.11).

    Obtained by solving ``(I - A) L = I`` with one LU factorisation; use it when the whole matrix
    is needed (reliance, value added). For output under a given final demand, solve
    ``(I - A) x = y`` instead, as :func:`hypothetical_extraction` does.
    """
    _check_square(A, "A")
    n = len(A)
    eye = np.eye(n)
    total = np.linalg.solve(eye - A.to_numpy(dtype=float), eye)
    return pd.DataFrame(total, index=A.index, columns=A.columns)


def face_value_reliance(
    Z: pd.DataFrame, supplier: Regions | None = None
) -> pd.Series | pd.DataFrame:
    """Share of each (region, sector)'s intermediate inputs bought directly from ``supplier``.

    ``FV[s; d,j] = sum_i Z[(s,i),(d,j)] / sum_{c,i} Z[(c,i),(d,j)]`` (Baldwin, Freeman &
    Theodorakopoulos 2023, "Hidden Exposure", BPEA: face-value exposure). ``supplier`` is a region,
    or several summed as a group; ``None`` returns every supplier region as a column. Buyers
    without intermediate inputs get NaN.
    """
    _check_square(Z, "Z")
    return _supplier_shares(Z, supplier, "face_value_reliance")


def look_through_reliance(
    A: pd.DataFrame, supplier: Regions | None = None, *, exclude_own_output: bool = False
) -> pd.Series | pd.DataFrame:
    """Share of ``supplier`` in all (direct + indirect) production behind each (region, sector).

    ``LT[s; d,j] = sum_i L[(s,i),(d,j)] / sum_{c,i} L[(c,i),(d,j)]`` with ``L = (I - A)^-1``: of all
    the gross output that one unit of (d,j)'s final output sets in motion along the chain, the
    share produced in ``s`` (Baldwin, Freeman & Theodorakopoulos 2023, look-through exposure,
    computed on the columns of the Leontief inverse as in the paper). ``L`` includes the unit of
    (d,j)'s own output on its diagonal; ``exclude_own_output=True`` uses ``L - I`` instead, the
    total input requirements only: the look-through analogue of :func:`face_value_reliance`.
    """
    total = leontief_inverse(A)
    if exclude_own_output:
        total = total - np.eye(len(total))
    return _supplier_shares(total, supplier, "look_through_reliance")


def value_added_embodied(
    v: pd.Series, L: pd.DataFrame, y: pd.Series | pd.DataFrame
) -> pd.Series | pd.DataFrame:
    """Value added generated in each origin (region, sector) by final demand ``y``: ``diag(v) L y``.

    ``v`` holds value-added coefficients (value added per unit of output), ``y`` one final demand
    vector or one column per destination (e.g. pymrio's ``Y`` by region and category). Rows are
    the origins; ``result.groupby(level=0).sum()`` gives value added by origin region (OECD TiVA;
    Miller & Blair 2009, section 6.4). When ``y`` is the whole final demand, the total equals world
    value added.
    """
    _check_square(L, "L")
    coefficients = _aligned(v, L.index, "v").to_numpy(dtype=float)
    demand = _aligned(y, L.columns, "y")
    embodied = coefficients[:, None] * (
        L.to_numpy(dtype=float) @ demand.to_numpy(dtype=float).reshape(len(L), -1)
    )
    if isinstance(demand, pd.Series):
        return pd.Series(embodied[:, 0], index=L.index, name="value_added")
    return pd.DataFrame(embodied, index=L.index, columns=demand.columns)


def supplier_rows(
    index: pd.MultiIndex, supplier: Regions, sectors: Sequence[str] | None = None
) -> np.ndarray:
    """Boolean mask of the rows of ``index`` that belong to ``supplier`` (and to ``sectors``)."""
    regions = _region_list(index, supplier)
    mask = index.get_level_values(0).isin(regions)
    if sectors is not None:
        known = set(index.get_level_values(1))
        unknown = [s for s in sectors if s not in known]
        if unknown:
            raise UnknownCodeError(
                f"sector(s) {', '.join(map(str, unknown))} are not in the table",
                field="sectors",
                hint=f"use sectors of the table, e.g. {', '.join(map(str, sorted(known)[:5]))}",
            )
        mask &= index.get_level_values(1).isin(list(sectors))
    return np.asarray(mask)


def hypothetical_extraction(
    A: pd.DataFrame,
    y: pd.Series | pd.DataFrame,
    supplier: Regions,
    sectors: Sequence[str] | None = None,
    *,
    theta: float = 1.0,
    buyers: Regions | None = None,
) -> pd.DataFrame:
    """Output lost in every (region, sector) when ``supplier`` stops selling intermediate inputs.

    The supplier's rows of ``A`` (only its ``sectors`` when given; only the columns of ``buyers``
    when given, else every buyer including itself) are scaled by ``1 - theta``, and
    ``x* = (I - A*)^-1 y`` is solved with the final demand ``y`` unchanged; the loss is
    ``x - x*`` with ``x = (I - A)^-1 y`` (row extraction, Miller & Blair 2009, section 12.2).
    Both come from one LU factorisation of ``I - A`` and a k x k solve for the k extracted rows
    (Woodbury identity), never from an explicit inverse.
    ``y`` may have one column per destination; its row sums are used.
    Returns columns ``output`` (x), ``output_after`` (x*), ``loss`` (x - x*) and ``loss_share``
    (loss / x, 0 where x = 0).
    """
    _check_square(A, "A")
    if not 0.0 <= theta <= 1.0:
        raise InputError(f"theta must be between 0 and 1, got {theta}", field="theta")
    demand = _aligned(y, A.index, "y")
    if isinstance(demand, pd.DataFrame):
        demand = demand.sum(axis=1)
    rows = supplier_rows(A.index, supplier, sectors)
    columns = np.ones(len(A), dtype=bool) if buyers is None else supplier_rows(A.columns, buyers)
    output, output_after = _extracted_outputs(
        A.to_numpy(dtype=float), demand.to_numpy(dtype=float), rows, columns, theta
    )
    loss = output - output_after
    share = np.divide(loss, output, out=np.zeros_like(loss), where=output != 0)
    return pd.DataFrame(
        {"output": output, "output_after": output_after, "loss": loss, "loss_share": share},
        index=A.index,
    )


def _extracted_outputs(
    a: np.ndarray, y: np.ndarray, rows: np.ndarray, columns: np.ndarray, theta: float
) -> tuple[np.ndarray, np.ndarray]:
    """``x = (I - A)^-1 y`` and ``x* = (I - A*)^-1 y`` from one LU factorisation of ``I - A``.

    ``A*`` differs from ``A`` in the k extracted rows only: ``I - A* = M + E V`` with
    ``M = I - A``, ``E`` the n x k selection of those rows and ``V = theta A[rows, columns]``.
    By the Sherman-Morrison-Woodbury identity, ``x* = x - W (I_k + V W)^-1 V x`` with
    ``W = M^-1 E``, so one solve of ``M`` against ``[y, E]`` and one k x k solve replace a
    second n x n factorisation.
    """
    n, k = len(a), int(rows.sum())
    leontief = np.eye(n) - a
    selection = np.zeros((n, k))
    selection[np.flatnonzero(rows), np.arange(k)] = 1.0
    solved = np.linalg.solve(leontief, np.column_stack([y, selection]))
    output, spread = solved[:, 0], solved[:, 1:]
    change = theta * a[rows] * columns
    small = np.eye(k) + change @ spread
    return output, output - spread @ np.linalg.solve(small, change @ output)


def _supplier_shares(
    flows: pd.DataFrame, supplier: Regions | None, name: str
) -> pd.Series | pd.DataFrame:
    """Column shares of ``flows`` by selling region: a Series for ``supplier``, else all regions."""
    values = flows.to_numpy(dtype=float)
    totals = values.sum(axis=0)
    region = flows.index.get_level_values(0)
    if supplier is not None:
        mask = region.isin(_region_list(flows.index, supplier))
        part = values[np.asarray(mask)].sum(axis=0)
        return pd.Series(_share(part, totals), index=flows.columns, name=name)
    regions = region.unique()
    shares = {r: _share(values[np.asarray(region == r)].sum(axis=0), totals) for r in regions}
    frame = pd.DataFrame(shares, index=flows.columns)
    frame.columns.name = "supplier"
    return frame


def _share(part: np.ndarray, total: np.ndarray) -> np.ndarray:
    """``part / total`` with NaN where the total is 0."""
    return np.divide(part, total, out=np.full_like(part, np.nan), where=total != 0)


def _region_list(index: pd.MultiIndex, regions: Regions) -> list[str]:
    """``regions`` as a list, after checking each is a region of ``index``."""
    wanted = [regions] if isinstance(regions, str) else list(regions)
    known = set(index.get_level_values(0))
    unknown = [r for r in wanted if r not in known]
    if unknown or not wanted:
        raise UnknownCodeError(
            f"region(s) {', '.join(map(str, unknown)) or '(none given)'} are not in the table",
            field="supplier",
            hint=f"use regions of the table, e.g. {', '.join(map(str, sorted(known)[:5]))}",
        )
    return wanted


def _check_square(frame: pd.DataFrame, name: str) -> None:
    """Fail unless ``frame`` is square with identical row and column labels."""
    if frame.shape[0] != frame.shape[1] or not frame.index.equals(frame.columns):
        raise InputError(
            f"{name} must be square with the same (region, sector) labels on rows and columns, "
            f"got shape {frame.shape}"
        )


def _aligned(
    data: pd.Series | pd.DataFrame, labels: pd.Index, name: str
) -> pd.Series | pd.DataFrame:
    """``data`` in the order of ``labels``; fails when a label is missing."""
    missing = labels.difference(data.index)
    if len(missing):
        raise InputError(
            f"{name} lacks {len(missing)} (region, sector) label(s) of the table, "
            f"e.g. {', '.join(map(str, missing[:3]))}"
        )
    return data.reindex(labels)
