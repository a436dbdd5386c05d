"""The exception and warning tree of consilience.

Every error raised on user input is an :class:`InputError` whose message names the input, the
rule it broke, the value received and how to fix it. Every warning is a :class:`ConsilienceWarning`
subclass, so a caller can filter them as a family.

::

    ConsilienceError
    ├── InputError (also a ValueError)
    └── ConvergenceError (also a RuntimeError)

    ConsilienceWarning (a UserWarning)
    ├── DataDroppedWarning
    ├── ConvergenceWarning
    └── SmallSampleWarning
"""

from __future__ import annotations

__all__ = [
    "ConsilienceError",
    "InputError",
    "ConvergenceError",
    "ConsilienceWarning",
    "DataDroppedWarning",
    "ConvergenceWarning",
    "SmallSampleWarning",
    "MissingDependencyError",
]


class ConsilienceError(Exception):
    """Base class of every error consilience raises on purpose."""


class InputError(ConsilienceError, ValueError):
    """An input broke a documented rule; the message says which, the value, and the fix."""


class ConvergenceError(ConsilienceError, RuntimeError):
    """An iterative estimator did not converge; the message says what to try instead."""


class MissingDependencyError(ConsilienceError, ImportError):
    """An optional integration was used without its extra installed."""


class ConsilienceWarning(UserWarning):
    """Base class of every warning consilience emits on purpose."""


class DataDroppedWarning(ConsilienceWarning):
    """Rows were left out of an analysis; the message counts them and says why."""


class ConvergenceWarning(ConsilienceWarning):
    """An estimator converged to a boundary or needed a fallback."""


class SmallSampleWarning(ConsilienceWarning):
    """The analysis ran, but with too little data for some of its quantities (e.g. k = 1)."""
