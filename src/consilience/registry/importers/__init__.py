"""Importers: each turns one kind of source into the runs table and imports it in one transaction.

* :func:`import_table` -- long-format CSV, Parquet or JSON files;
* :func:`import_mlflow` -- an MLflow tracking store (SQLite, file store or HTTP server);
* :func:`import_wandb` -- a Weights & Biases runs export (the UI's CSV, or ``wandb.Api().runs``
  summaries and configs written to CSV/JSON).
"""

from __future__ import annotations

from consilience.registry.importers.mapping import RunMapping
from consilience.registry.importers.mlflow import import_mlflow
from consilience.registry.importers.tabular import import_table, read_runs_file
from consilience.registry.importers.wandb import import_wandb

__all__ = ["RunMapping", "import_mlflow", "import_table", "import_wandb", "read_runs_file"]
