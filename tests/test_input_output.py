"""Input-output kernels against Miller & Blair's textbook table, pymrio's test system and numpy."""

# ruff: noqa: N806  (textbook notation: Z, A, L, Y as in Miller & Blair)
from __future__ import annotations

import numpy as np
import pandas as pd
import pymrio
import pytest

from chokepoints.analysis.input_output import (
    face_value_reliance,
    hypothetical_extraction,
    leontief_inverse,
    look_through_reliance,
    supplier_rows,
    technical_coefficients,
    value_added_embodied,
)
from chokepoints.errors import InputError, UnknownCodeError

# Miller & Blair (2009), section 2.3: two sectors, here placed in two regions R1 and R2.
LABELS = pd.MultiIndex.from_tuples([("R1", "s1"), ("R2", "s2")], names=["region", "sector"])
Z_MB = pd.DataFrame([[150.0, 500.0], [200.0, 100.0]], index=LABELS, columns=LABELS)
X_MB = pd.Series([1000.0, 2000.0], index=LABELS)
F_MB = pd.Series([350.0, 1700.0], index=LABELS)


@pytest.fixture(scope="module")
def test_system() -> pymrio.IOSystem:
    """pymrio's bundled 6-region x 8-sector test MRIO, with A, L and x computed."""
    system = pymrio.load_test()
    system.calc_all()
    return system


def _region_shares(matrix: np.ndarray, regions: np.ndarray, supplier: str) -> np.ndarray:
    """Direct numpy column shares of the rows of ``supplier``."""
    return matrix[regions == supplier].sum(axis=0) / matrix.sum(axis=0)


def test_technical_coefficients_match_miller_blair() -> None:
    # A = Z diag(x)^-1: 150/1000 = .15, 500/2000 = .25, 200/1000 = .2, 100/2000 = .05
    A = technical_coefficients(Z_MB, X_MB)
    np.testing.assert_allclose(A.to_numpy(), [[0.15, 0.25], [0.2, 0.05]])
    assert A.index.equals(LABELS) and A.columns.equals(LABELS)


def test_technical_coefficients_zero_output_gives_zero_column() -> None:
    A = technical_coefficients(Z_MB * [1.0, 0.0], X_MB * [1.0, 0.0])
    np.testing.assert_array_equal(A.to_numpy()[:, 1], [0.0, 0.0])


def test_leontief_inverse_matches_miller_blair() -> None:
    # I - A = [[.85, -.25], [-.2, .95]], det = .85 * .95 - .25 * .2 = .7575
    # L = [[.95, .25], [.2, .85]] / .7575 = [[1.2541, .3300], [.2640, 1.1221]]
    L = leontief_inverse(technical_coefficients(Z_MB, X_MB))
    np.testing.assert_allclose(L.to_numpy(), [[1.2541, 0.3300], [0.2640, 1.1221]], atol=5e-5)
    # x = L f: 1.2541 * 350 + .3300 * 1700 = 1000, .2640 * 350 + 1.1221 * 1700 = 2000
    np.testing.assert_allclose(L.to_numpy() @ F_MB.to_numpy(), X_MB.to_numpy())


def test_extraction_of_r1_matches_hand_computation() -> None:
    # Rows of R1 zeroed: x1* = f1 = 350; x2* = (.2 * 350 + 1700) / (1 - .05) = 1863.158
    result = hypothetical_extraction(technical_coefficients(Z_MB, X_MB), F_MB, "R1")
    np.testing.assert_allclose(result["output"], [1000.0, 2000.0])
    np.testing.assert_allclose(result["output_after"], [350.0, 1770.0 / 0.95])
    np.testing.assert_allclose(result["loss"], [650.0, 2000.0 - 1770.0 / 0.95])
    np.testing.assert_allclose(result["loss_share"], [0.65, 1.0 - 1770.0 / 1900.0])


@pytest.mark.parametrize(
    ("supplier", "sectors", "theta"),
    [
        ("reg2", ["mining", "electricity"], 0.4),
        ("reg6", None, 1.0),
        (["reg1", "reg2", "reg3", "reg4", "reg5", "reg6"], None, 0.7),
    ],
    ids=["two-sectors-partial", "whole-country", "every-region"],
)
def test_extraction_matches_direct_numpy(
    test_system: pymrio.IOSystem,
    supplier: str | list[str],
    sectors: list[str] | None,
    theta: float,
) -> None:
    A, y = test_system.A, test_system.Y
    result = hypothetical_extraction(A, y, supplier, sectors, theta=theta)
    a = A.to_numpy()
    rows = A.index.get_level_values(0).isin([supplier] if isinstance(supplier, str) else supplier)
    if sectors is not None:
        rows &= A.index.get_level_values(1).isin(sectors)
    a_star = a.copy()
    a_star[rows, :] *= 1.0 - theta
    f = y.to_numpy().sum(axis=1)
    eye = np.eye(len(a))
    x = np.linalg.inv(eye - a) @ f
    x_star = np.linalg.inv(eye - a_star) @ f
    np.testing.assert_allclose(result["output"], x, rtol=1e-9)
    np.testing.assert_allclose(result["output"], test_system.x["indout"], rtol=1e-6)
    np.testing.assert_allclose(result["loss"], x - x_star, rtol=1e-9, atol=1e-6)
    assert result.index.equals(A.index)


def test_extraction_limited_to_buyers_matches_direct_numpy(test_system: pymrio.IOSystem) -> None:
    A, y = test_system.A, test_system.Y
    result = hypothetical_extraction(A, y, "reg1", buyers=["reg3", "reg4"])
    regions = A.index.get_level_values(0)
    a_star = A.to_numpy().copy()
    a_star[np.ix_(regions == "reg1", regions.isin(["reg3", "reg4"]))] = 0.0
    x_star = np.linalg.solve(np.eye(len(a_star)) - a_star, y.to_numpy().sum(axis=1))
    np.testing.assert_allclose(result["output_after"], x_star, rtol=1e-9)


@pytest.mark.parametrize("supplier", ["reg1", "reg4", ["reg2", "reg5"]])
@pytest.mark.parametrize("theta", [0.25, 1.0])
def test_extraction_never_increases_output(
    test_system: pymrio.IOSystem, supplier: str | list[str], theta: float
) -> None:
    result = hypothetical_extraction(test_system.A, test_system.Y, supplier, theta=theta)
    assert (result["loss"] >= -1e-9).all()
    assert (result["output_after"] <= result["output"] + 1e-9).all()
    np.testing.assert_allclose(result["output"] - result["loss"], result["output_after"])


def test_extraction_loss_grows_with_theta(test_system: pymrio.IOSystem) -> None:
    losses = [
        hypothetical_extraction(test_system.A, test_system.Y, "reg3", theta=t)["loss"].sum()
        for t in (0.0, 0.3, 0.6, 1.0)
    ]
    assert losses == sorted(losses)


def test_extraction_with_theta_zero_changes_nothing(test_system: pymrio.IOSystem) -> None:
    result = hypothetical_extraction(test_system.A, test_system.Y, "reg1", theta=0.0)
    np.testing.assert_allclose(result["loss"], 0.0, atol=1e-6)


def test_extraction_rejects_bad_arguments(test_system: pymrio.IOSystem) -> None:
    with pytest.raises(InputError, match="theta"):
        hypothetical_extraction(test_system.A, test_system.Y, "reg1", theta=1.5)
    with pytest.raises(UnknownCodeError, match="XXX"):
        hypothetical_extraction(test_system.A, test_system.Y, "XXX")
    with pytest.raises(UnknownCodeError, match="steel"):
        hypothetical_extraction(test_system.A, test_system.Y, "reg1", ["steel"])
    with pytest.raises(InputError, match="y lacks"):
        hypothetical_extraction(test_system.A, test_system.Y.iloc[:5], "reg1")


def test_supplier_rows_selects_region_and_sectors() -> None:
    index = pd.MultiIndex.from_product([["A", "B"], ["x", "y", "z"]])
    assert supplier_rows(index, "B").tolist() == [False] * 3 + [True] * 3
    assert supplier_rows(index, ["A", "B"], ["y"]).tolist() == [False, True, False] * 2


def test_face_value_reliance_matches_direct_numpy(test_system: pymrio.IOSystem) -> None:
    Z = test_system.Z
    regions = Z.index.get_level_values(0).to_numpy()
    reliance = face_value_reliance(Z, "reg3")
    np.testing.assert_allclose(reliance, _region_shares(Z.to_numpy(), regions, "reg3"))
    assert reliance.index.equals(Z.columns)


@pytest.mark.parametrize("exclude_own_output", [False, True])
def test_look_through_reliance_matches_direct_numpy(
    test_system: pymrio.IOSystem, exclude_own_output: bool
) -> None:
    A = test_system.A
    total = np.linalg.inv(np.eye(len(A)) - A.to_numpy())
    if exclude_own_output:
        total -= np.eye(len(A))
    regions = A.index.get_level_values(0).to_numpy()
    reliance = look_through_reliance(A, "reg6", exclude_own_output=exclude_own_output)
    np.testing.assert_allclose(reliance, _region_shares(total, regions, "reg6"), rtol=1e-9)
    np.testing.assert_allclose(
        test_system.L.to_numpy(), leontief_inverse(A).to_numpy(), rtol=1e-8, atol=1e-12
    )


def test_reliance_shares_are_bounded_and_sum_to_one(test_system: pymrio.IOSystem) -> None:
    for shares in (face_value_reliance(test_system.Z), look_through_reliance(test_system.A)):
        assert list(shares.columns) == list(test_system.get_regions())
        values = shares.to_numpy()
        assert ((values >= 0) & (values <= 1)).all()
        np.testing.assert_allclose(values.sum(axis=1), 1.0)


def test_group_reliance_is_sum_of_members(test_system: pymrio.IOSystem) -> None:
    each = look_through_reliance(test_system.A)
    group = look_through_reliance(test_system.A, ["reg1", "reg2"])
    np.testing.assert_allclose(group, each["reg1"] + each["reg2"])


def test_look_through_reliance_exceeds_face_value_for_hidden_supplier() -> None:
    # R1 buys only from R2 directly, but R2 buys from R3: R3 is hidden behind R2.
    labels = pd.MultiIndex.from_tuples([("R1", "s"), ("R2", "s"), ("R3", "s")])
    Z = pd.DataFrame(
        [[0.0, 0.0, 0.0], [50.0, 0.0, 0.0], [0.0, 40.0, 0.0]], index=labels, columns=labels
    )
    x = pd.Series([100.0, 100.0, 100.0], index=labels)
    assert face_value_reliance(Z, "R3")[("R1", "s")] == 0.0
    # L column of R1 = [1, .5, .2]; L - I column = [0, .5, .2]
    assert look_through_reliance(technical_coefficients(Z, x), "R3")[("R1", "s")] == pytest.approx(
        0.2 / 1.7
    )
    assert look_through_reliance(technical_coefficients(Z, x), "R3", exclude_own_output=True)[
        ("R1", "s")
    ] == pytest.approx(0.2 / 0.7)


def test_face_value_reliance_is_nan_without_inputs() -> None:
    Z = Z_MB.copy()
    Z.iloc[:, 0] = 0.0
    assert np.isnan(face_value_reliance(Z, "R1").iloc[0])


def test_value_added_embodied_matches_miller_blair() -> None:
    # v = (x - column sums of Z) / x = [(1000 - 350) / 1000, (2000 - 600) / 2000] = [.65, .7]
    v = (X_MB - Z_MB.sum(axis=0)) / X_MB
    L = leontief_inverse(technical_coefficients(Z_MB, X_MB))
    embodied = value_added_embodied(v, L, F_MB)
    # diag(v) L f = diag(v) x = [.65 * 1000, .7 * 2000] = [650, 1400]; total = sum f = 2050
    np.testing.assert_allclose(embodied, [650.0, 1400.0])
    assert embodied.sum() == pytest.approx(F_MB.sum())


def test_value_added_embodied_by_destination_matches_direct_numpy(
    test_system: pymrio.IOSystem,
) -> None:
    v = test_system.factor_inputs.S.loc["Value Added"]
    Y = test_system.Y.T.groupby(level="region").sum().T
    embodied = value_added_embodied(v, test_system.L, Y)
    direct = np.diag(v.to_numpy()) @ test_system.L.to_numpy() @ Y.to_numpy()
    np.testing.assert_allclose(embodied.to_numpy(), direct, rtol=1e-9)
    assert list(embodied.columns) == list(Y.columns)
    assert embodied.groupby(level=0).sum().shape == (6, 6)


def test_kernels_reject_misaligned_frames() -> None:
    with pytest.raises(InputError, match="square"):
        leontief_inverse(Z_MB.iloc[:, :1])
    with pytest.raises(InputError, match="x lacks"):
        technical_coefficients(Z_MB, X_MB.iloc[:1])
