"""Regenerate ``src/consilience/data/lcdb_runs.csv`` from the Learning Curve Database (LCDB).

LCDB (Mohr, Viering, Loog and van Rijn, 2022; https://github.com/fmohr/lcdb, MIT licence) ships
its results inside the source distribution of the PyPI package ``lcdb`` 0.1.0 as
``lcdb/database-accuracy.csv`` (one row per learner, OpenML data set, training size, outer seed
and inner seed) and ``lcdb/datasets.csv`` (OpenML meta-features).

The extract keeps, for every (data set, learner, outer seed) with inner seed 0, the run at the
data set's largest training size (the full anchor) and its **test** accuracy (``score_test``,
measured on the outer split's held-out test set, whose size becomes ``n_eval``). A learner that
did not reach the full anchor on a data set (it timed out) is left out for that data set. The
outer seed fixes the train/test split, so two learners with the same seed on the same data set
saw the same split: runs are paired by seed.

Usage::

    python scripts/make_lcdb_extract.py                      # downloads the sdist with pip
    python scripts/make_lcdb_extract.py --source lcdb-0.1.0.tar.gz
    python scripts/make_lcdb_extract.py --source path/to/unpacked/lcdb
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import IO

import pandas as pd

LCDB_VERSION = "0.1.0"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "src" / "consilience" / "data" / "lcdb_runs.csv"


def _download_sdist(dest: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", f"lcdb=={LCDB_VERSION}", "--no-deps",
         "--no-binary", ":all:", "--dest", str(dest)],
        check=True,
    )
    return next(dest.glob("lcdb-*.tar.gz"))


def _open_member(source: Path, name: str) -> IO[bytes]:
    """Open ``lcdb/<name>`` from an sdist tarball or from a directory holding the files."""
    if source.is_dir():
        for candidate in (source / name, source / "lcdb" / name):
            if candidate.exists():
                return io.BytesIO(candidate.read_bytes())
        raise FileNotFoundError(f"{name} not found under {source}")
    with tarfile.open(source, "r:gz") as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(f"lcdb/{name}"))
        handle = tar.extractfile(member)
        if handle is None:
            raise FileNotFoundError(f"{name} is not a regular file in {source}")
        return io.BytesIO(handle.read())


def build_extract(source: Path) -> pd.DataFrame:
    """Return the runs table (one row per data set, learner and seed)."""
    with _open_member(source, "database-accuracy.csv") as fh:
        db = pd.read_csv(fh, usecols=["openmlid", "learner", "size_train", "size_test",
                                      "outer_seed", "inner_seed", "traintime", "score_test"])
    with _open_member(source, "datasets.csv") as fh:
        meta = pd.read_csv(fh, usecols=["openmlid", "Name"])

    db = db[(db["inner_seed"] == 0) & db["score_test"].notna()]
    full_anchor = db.groupby("openmlid")["size_train"].transform("max")
    db = db[db["size_train"] == full_anchor]
    # A few cells were recorded twice; keep the first record of each run.
    db = db.drop_duplicates(["openmlid", "learner", "outer_seed"], keep="first")

    names = meta.drop_duplicates("openmlid").set_index("openmlid")["Name"]
    label = db["openmlid"].map(names).fillna("openml")
    task = label.astype(str) + "-" + db["openmlid"].astype(str)
    arm = db["learner"].str.rsplit(".", n=1).str[-1]

    out = pd.DataFrame({
        "experiment": "lcdb",
        "arm": arm.to_numpy(),
        "task": task.to_numpy(),
        "seed": db["outer_seed"].to_numpy(),
        "metric": "accuracy",
        "value": db["score_test"].round(4).to_numpy(),
        "n_eval": db["size_test"].to_numpy(),
        "size_train": db["size_train"].to_numpy(),
        "train_time_s": db["traintime"].round(4).to_numpy(),
        "openml_id": db["openmlid"].to_numpy(),
    })
    return out.sort_values(["task", "arm", "seed"], kind="stable").reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None,
                        help="lcdb sdist tarball or a directory with database-accuracy.csv")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        source = args.source if args.source is not None else _download_sdist(Path(tmp))
        table = build_extract(source)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    size_kb = args.out.stat().st_size / 1024
    print(f"wrote {len(table)} runs ({table['arm'].nunique()} learners, "
          f"{table['task'].nunique()} data sets) to {args.out} ({size_kb:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
