"""The experiment registry: every experiment a team ran, and the runs analyses read from.

Needs the ``registry`` extra (``pip install 'consilience[registry]'``). The statistical core never
imports this package; the registry hands it the tidy runs table (:meth:`Registry.runs`).
"""

from __future__ import annotations

from consilience.registry._deps import require

require("sqlalchemy")
require("alembic")

from consilience.registry.deviations import Deviation
from consilience.registry.engine import DEFAULT_DB_FILENAME, ENV_VAR, resolve_url
from consilience.registry.experiments import ExperimentRecord, StaleBaselineWarning
from consilience.registry.ingest import ImportReport
from consilience.registry.lineage import Lineage, LineageStep
from consilience.registry.models import EXPERIMENT_STATUSES, RUN_STATUSES
from consilience.registry.protocol import ProtocolRecord
from consilience.registry.runs_table import RUN_COLUMNS
from consilience.registry.snapshots import SnapshotRecord
from consilience.registry.store import Registry

__all__ = [
    "DEFAULT_DB_FILENAME",
    "ENV_VAR",
    "EXPERIMENT_STATUSES",
    "RUN_COLUMNS",
    "RUN_STATUSES",
    "Deviation",
    "ExperimentRecord",
    "ImportReport",
    "Lineage",
    "LineageStep",
    "ProtocolRecord",
    "Registry",
    "SnapshotRecord",
    "StaleBaselineWarning",
    "resolve_url",
]
