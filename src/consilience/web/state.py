"""The dashboard's registry handle and its cache of analyses.

Analyses are computed on demand and cached until the registry changes. Every write to a registry
appends to its audit log, so the newest audit entry's id is the registry's version: a cached
result is reused while that id is unchanged and recomputed after any import, status change,
snapshot or applied plan, whoever made it. Computations run one at a time (the machine's cores
go to the vectorised kernels, and warnings are recorded reliably) and warnings raised while
computing are kept with the result, to be shown on the page.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from consilience.registry import Registry

__all__ = ["Computed", "Dashboard"]

_MAX_ENTRIES = 256


@dataclass(frozen=True)
class Computed:
    """A cached computation: its value or the error that prevented it, and the warnings raised.

    Attributes
    ----------
    value : object or None
    error : str or None
        The message of the documented error (:class:`~consilience.errors.ConsilienceError`)
        raised instead of a value.
    notes : tuple of str
        Warnings raised while computing, once each.
    """

    value: Any
    error: str | None
    notes: tuple[str, ...]


class Dashboard:
    """A registry opened for the dashboard, with a version-keyed cache of analyses.

    Parameters
    ----------
    registry : Registry
        Open registry; the dashboard writes through it with its actor.
    metric : str, optional
        Metric compared by default (default: see :meth:`default_metric`).
    """

    def __init__(self, registry: Registry, *, metric: str | None = None) -> None:
        self.registry = registry
        self._metric = metric
        self._cache: dict[Hashable, tuple[int, Computed]] = {}
        self._lock = threading.RLock()

    def version(self) -> int:
        """Id of the newest audit entry: changes whenever the registry does."""
        from sqlalchemy import func, select

        from consilience.registry.models import AuditEntry

        with self.registry.engine.connect() as conn:
            value = conn.execute(select(func.max(AuditEntry.id))).scalar()
        return int(value or 0)

    def default_metric(self) -> str:
        """The metric shown when a page does not ask for one: the one given at creation, else
        the first locked protocol's primary metric, else the most common metric of complete
        runs, else ``accuracy``."""
        if self._metric:
            return self._metric
        found = self.cached(("default-metric",), self._find_metric)
        return str(found.value) if found.value else "accuracy"

    def _find_metric(self) -> str | None:
        from consilience.report.document import default_metric

        return default_metric(self.registry)

    def metrics(self) -> list[str]:
        """Metrics with complete runs, sorted."""
        from consilience.report.document import metric_counts

        found = self.cached(("metrics",), lambda: sorted(metric_counts(self.registry)))
        return list(found.value or [])

    def cached(self, key: Hashable, compute: Callable[[], Any]) -> Computed:
        """The value of ``compute()`` for the registry's current version.

        Documented errors (:class:`~consilience.errors.ConsilienceError`) are cached as the
        ``error`` of the result; anything else propagates.
        """
        from consilience.errors import ConsilienceError

        with self._lock:
            version = self.version()
            hit = self._cache.get(key)
            if hit is not None and hit[0] == version:
                return hit[1]
            value, error = None, None
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    value = compute()
                except ConsilienceError as exc:
                    error = str(exc)
            notes: list[str] = []
            for w in caught:
                text = str(w.message)
                if text not in notes:
                    notes.append(text)
            result = Computed(value, error, tuple(notes))
            self._cache.pop(key, None)
            self._cache[key] = (version, result)
            while len(self._cache) > _MAX_ENTRIES:
                self._cache.pop(next(iter(self._cache)))
            return result

    def clear(self) -> None:
        """Forget every cached computation."""
        with self._lock:
            self._cache.clear()
