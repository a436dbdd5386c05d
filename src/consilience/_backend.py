"""Array backends for the optional accelerator path: which namespace, on which device.

The batched REML and the bootstrap statistics have a second implementation written against the
Python array API standard (through ``array-api-compat``), so the same code runs on numpy, on
PyTorch tensors (a CUDA GPU when one is visible) and on CuPy arrays. ``backend=None`` everywhere
means the default numpy kernels; this module is imported only when a backend is asked for.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from consilience.errors import InputError

__all__ = ["BACKENDS", "Backend", "resolve_backend"]

BACKENDS = ("numpy", "torch", "cupy", "array-api-strict")
_INSTALL = {
    "numpy": "pip install array-api-compat",
    "torch": "pip install torch array-api-compat (a CUDA build for a GPU)",
    "cupy": "pip install cupy-cuda12x array-api-compat (matching your CUDA version)",
    "array-api-strict": "pip install array-api-strict",
}


@dataclass(frozen=True)
class Backend:
    """An array namespace and the device arrays are put on.

    Attributes
    ----------
    name : str
        One of :data:`BACKENDS`.
    xp : module
        The array-API namespace (``array_api_compat.torch`` etc.).
    device : object or None
        Where new arrays go (``"cuda"`` for PyTorch when a GPU is visible); None: the default.
    """

    name: str
    xp: Any
    device: Any

    def asarray(self, values: np.ndarray) -> Any:
        """A float64 (or bool/int) copy of a numpy array on the backend's device."""
        if self.device is None:
            return self.xp.asarray(values)
        return self.xp.asarray(values, device=self.device)

    def to_numpy(self, x: Any) -> np.ndarray:
        """The values of a backend array as a numpy array on the host."""
        if self.name == "cupy":
            return np.asarray(x.get())
        if self.name == "torch":
            return np.asarray(x.detach().cpu().numpy())
        if self.name == "array-api-strict":
            return np.asarray(np.from_dlpack(x))
        return np.asarray(x)


def _import(module: str, backend: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InputError(f"backend={backend!r} needs the {module.split('.')[0]!r} package, which is not "
                         f"installed ({exc}). Install it: {_INSTALL[backend]}, or leave backend unset for "
                         f"the numpy kernels.") from exc


def resolve_backend(backend: str) -> Backend:
    """The :class:`Backend` named ``backend``.

    ``"torch"`` puts arrays on the first CUDA device when PyTorch sees one, else on the CPU;
    ``"cupy"`` needs a CUDA device; ``"numpy"`` and ``"array-api-strict"`` run on the CPU
    (the second checks that the code uses nothing outside the standard).
    """
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {', '.join(map(repr, BACKENDS))}; got {backend!r}. "
                         f"Leave it unset for the numpy kernels.")
    if backend == "array-api-strict":
        return Backend(backend, _import("array_api_strict", backend), None)
    library = _import(backend, backend)  # the array library first, so its absence is named
    xp = _import(f"array_api_compat.{backend}", backend)
    if backend == "torch":
        return Backend(backend, xp, "cuda" if library.cuda.is_available() else "cpu")
    return Backend(backend, xp, None)
