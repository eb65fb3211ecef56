"""Author a new migration: `python -m coordinator_service.storage.revision "add foo column"`.

Autogenerates against a scratch SQLite database migrated to head, so the new revision holds only
the difference between `models.py` and the existing migrations. Review the file before committing.
"""

import asyncio
import sys
import tempfile
from pathlib import Path

from alembic import command

from coordinator_service.storage.db import Database, migrations_config


async def _autogenerate(message: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'scratch.db'}")
        await db.migrate()

        def _revise(connection: object) -> None:
            config = migrations_config(connection)  # type: ignore[arg-type]
            command.revision(config, message=message, autogenerate=True)

        async with db.writer.begin() as conn:
            await conn.run_sync(_revise)
        await db.dispose()


def main() -> None:
    """Write a new revision file under migrations/versions/."""
    if len(sys.argv) != 2:
        raise SystemExit('usage: python -m coordinator_service.storage.revision "message"')
    asyncio.run(_autogenerate(sys.argv[1]))


if __name__ == "__main__":
    main()
