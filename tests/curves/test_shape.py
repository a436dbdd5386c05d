"""Ill-behaved curve flags on hand-built shapes."""

from __future__ import annotations

import numpy as np

from consilience.curves import FLAG_NAMES, shape_flags

SIZES = 16 * 2.0 ** np.arange(8)
NO_SE = np.full(SIZES.size, np.nan)
SMALL_SE = np.full(SIZES.size, 0.001)


def test_a_smooth_falling_curve_raises_no_flag() -> None:
    err = 0.05 + 0.3 * (SIZES / SIZES[-1]) ** -0.4 / 10
    assert shape_flags(SIZES, err, SMALL_SE) == {}


def test_a_rise_is_non_monotone_but_not_a_peak() -> None:
    err = np.array([0.30, 0.25, 0.20, 0.18, 0.22, 0.26, 0.30, 0.33])
    flags = shape_flags(SIZES, err, SMALL_SE)
    assert list(flags) == ["non_monotone"]
    assert "from size 128 to size 2048" in flags["non_monotone"]


def test_a_bump_is_peaking() -> None:
    err = np.array([0.30, 0.25, 0.20, 0.28, 0.22, 0.15, 0.12, 0.10])
    flags = shape_flags(SIZES, err, SMALL_SE)
    assert list(flags) == ["non_monotone", "peaking"]
    assert "peaks at size 128" in flags["peaking"]


def test_noise_within_the_tolerance_is_not_a_rise() -> None:
    err = np.array([0.30, 0.25, 0.20, 0.21, 0.19, 0.18, 0.185, 0.17])
    assert "non_monotone" not in shape_flags(SIZES, err, np.full(SIZES.size, 0.01))
    assert "non_monotone" in shape_flags(SIZES, err, np.full(SIZES.size, 0.0001), min_change=0.001)


def test_flat_and_saturated_curves() -> None:
    flat = np.full(SIZES.size, 0.4) + np.array([0, 1, -1, 0, 1, 0, -1, 0]) * 1e-4
    assert list(shape_flags(SIZES, flat, NO_SE)) == ["flat"]
    done = np.array([0.05, 0.02, 0.01, 0.004, 0.002, 0.001, 0.0, 0.0])
    flags = shape_flags(SIZES, done, SMALL_SE)
    assert "saturated" in flags and "flat" not in flags


def test_short_curves_are_flagged_and_flags_follow_the_documented_order() -> None:
    err = np.array([0.3, 0.3, 0.3])
    flags = shape_flags(SIZES[:3], err, NO_SE[:3])
    assert "few_anchors" in flags
    order = [FLAG_NAMES.index(k) for k in flags]
    assert order == sorted(order)


def test_unknown_standard_errors_are_estimated_from_the_curve() -> None:
    smooth = 0.05 + 0.25 * (SIZES / SIZES[0]) ** -0.5
    wiggly = smooth + 0.015 * np.array([0, 1, -1, 1, -1, 1, -1, 1])
    assert np.max(np.diff(wiggly)) > 0.01
    # Known small standard errors: the wiggles are real rises.
    assert "non_monotone" in shape_flags(SIZES, wiggly, SMALL_SE, min_change=0.0)
    # Unknown: the noise read off the second differences covers them.
    assert "non_monotone" not in shape_flags(SIZES, wiggly, NO_SE, min_change=0.0)
