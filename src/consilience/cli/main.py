"""``consilience`` console script: registers every command module on the shared app."""

from __future__ import annotations

from consilience.cli.app import app

# Each module below adds its commands to ``app`` when imported (one module per command group).
# --- command modules ---
import consilience.cli.meta_cmd  # noqa: F401,E402
import consilience.cli.demo_cmd  # noqa: F401,E402
import consilience.cli.effects_cmd  # noqa: F401,E402
import consilience.cli.compare_cmd  # noqa: F401,E402
import consilience.cli.design_cmd  # noqa: F401,E402
import consilience.cli.diagnostics_cmd  # noqa: F401,E402
import consilience.cli.curves_cmd  # noqa: F401,E402
import consilience.cli.registry_cmd  # noqa: F401,E402
import consilience.cli.update_cmd  # noqa: F401,E402
import consilience.cli.plan_cmd  # noqa: F401,E402
import consilience.cli.quality_cmd  # noqa: F401,E402
import consilience.cli.report_cmd  # noqa: F401,E402
import consilience.cli.serve_cmd  # noqa: F401,E402
import consilience.cli.batch_cmd  # noqa: F401,E402
# --- end command modules ---


def main() -> None:
    app()


if __name__ == "__main__":
    main()
