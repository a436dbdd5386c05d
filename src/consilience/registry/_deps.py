"""Optional dependencies of the registry, imported lazily with an install hint."""

from __future__ import annotations

import importlib
from types import ModuleType

from consilience.errors import MissingDependencyError

__all__ = ["require"]

_HINTS = {
    "sqlalchemy": ("registry", "the experiment registry"),
    "alembic": ("registry", "the experiment registry's schema migrations"),
    "yaml": ("registry", "reading protocol files"),
    "psycopg": ("registry", "PostgreSQL registries"),
    "mlflow": ("mlflow", "importing runs from MLflow"),
}


def require(module: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra to install.

    Parameters
    ----------
    module : str
        Dotted module name; its first component selects the install hint.

    Returns
    -------
    types.ModuleType
        The imported module.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        extra, purpose = _HINTS.get(top, ("registry", "this feature"))
        raise MissingDependencyError(
            f"The '{top}' package is needed for {purpose} but is not installed ({exc}). "
            f"Install it with: pip install 'consilience[{extra}]'"
        ) from exc
