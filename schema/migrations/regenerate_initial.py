"""Regenerate the initial migration from the models (only while nothing is deployed).

Run: python -m schema.migrations.regenerate_initial
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from schema.migrate import MIGRATIONS, alembic_config


def main() -> None:
    for old in (MIGRATIONS / "versions").glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'empty.sqlite'}"
        command.revision(alembic_config(url), message="initial schema", autogenerate=True, rev_id="0001")
    for new in (MIGRATIONS / "versions").glob("0001_*.py"):
        # Alembic renders JSONB's text type unqualified; qualify it so the file imports cleanly.
        new.write_text(new.read_text().replace("astext_type=Text()", "astext_type=sa.Text()"))


if __name__ == "__main__":
    main()
