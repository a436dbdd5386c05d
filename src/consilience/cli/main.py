"""``consilience`` console script: registers every command module on the shared app."""

from __future__ import annotations

from consilience.cli.app import app

# Each module below adds its commands to ``app`` when imported (one module per command group).
# --- command modules ---
# --- end command modules ---


def main() -> None:
    app()


if __name__ == "__main__":
    main()
