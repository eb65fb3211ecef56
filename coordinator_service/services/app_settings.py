"""Small host settings kept in the database (`app_settings`): newest app version and the like."""

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.storage.models import AppSetting

__all__ = [
    "DOWNLOAD_URL",
    "HEARTBEAT_INTERVAL",
    "LATEST_VERSION",
    "PUBLIC_URL",
    "get_setting",
    "get_settings",
    "put_settings",
]

LATEST_VERSION = "latest_version"
DOWNLOAD_URL = "download_url"
PUBLIC_URL = "public_url"
HEARTBEAT_INTERVAL = "heartbeat_interval_s"


async def get_setting(session: AsyncSession, key: str) -> str | None:
    """Return one setting, or None when unset."""
    row = await session.get(AppSetting, key)
    return row.value if row else None


async def get_settings(session: AsyncSession, *keys: str) -> dict[str, str]:
    """Return the given settings that are set."""
    rows = await session.execute(select(AppSetting).where(AppSetting.key.in_(keys)))
    return {row.key: row.value for row in rows.scalars()}


async def put_settings(session: AsyncSession, values: dict[str, str]) -> None:
    """Set several settings at once and commit; an upsert, so replicas starting together agree."""
    if values:
        postgres = session.get_bind().dialect.name == "postgresql"
        insert = postgresql_insert if postgres else sqlite_insert
        statement = insert(AppSetting).values([{"key": k, "value": v} for k, v in values.items()])
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[AppSetting.key], set_={"value": statement.excluded.value}
            )
        )
    await session.commit()
