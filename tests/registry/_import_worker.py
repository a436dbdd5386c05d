"""Child process of the reliability tests: import one runs file into a registry.

The tests fork these workers (with the modules already imported, so eight of them start in
milliseconds). A worker waits until ``go_file`` exists, so that all start together, imports
``runs_file`` and writes its report (or its traceback) to ``out_file``. With a ``marker`` path it
writes that file after its first batch, inside the open transaction, and sleeps there so that
the test can kill it mid-import.
"""

from __future__ import annotations

import json
import time
import traceback
from pathlib import Path


def import_worker(
    url: str, runs_file: str, go_file: str, marker: str | None, out_file: str
) -> None:
    from consilience.registry import Registry
    from consilience.registry.importers import import_table

    try:
        registry = Registry(url)
        deadline = time.monotonic() + 60
        while not Path(go_file).exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the go signal never came")
            time.sleep(0.005)

        def progress(done: int, total: int) -> None:
            if marker is not None and done < total:
                Path(marker).write_text(f"{done}/{total}")
                time.sleep(120)

        report = import_table(registry, runs_file, progress=progress)
        registry.close()
        Path(out_file).write_text(json.dumps(report.to_dict()))
    except BaseException:
        Path(out_file).write_text(json.dumps({"error": traceback.format_exc()}))
        raise
