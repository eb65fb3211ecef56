"""streams: SRS's latest hook (hook_live, hook_at), authoritative over the origin poller

Revision ID: 0006_stream_hooks
Revises: 0005_stream_pool_keys
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_stream_hooks"
down_revision: str | None = "0005_stream_pool_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN (nullable): no table rebuild, so no cascade on SQLite
    op.add_column("streams", sa.Column("hook_live", sa.Boolean(), nullable=True))
    op.add_column("streams", sa.Column("hook_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("streams", "hook_at")
    op.drop_column("streams", "hook_live")
