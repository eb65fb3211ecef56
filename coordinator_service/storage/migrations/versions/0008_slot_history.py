"""viewer slot history: node capacity changes and stream slot bitrate changes

Existing nodes get one capacity row at the upgrade's moment (their current capacity), so the
slot rule applies from the upgrade on and never to time before it (no history: had a slot).

Revision ID: 0008_slot_history
Revises: 0007_relay_identity
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008_slot_history"
down_revision: str | None = "0007_relay_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    capacities = op.create_table(
        "node_capacity_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("capacity_kbit", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_node_capacity_changes_node_start",
        "node_capacity_changes",
        ["node_id", "started_at"],
        unique=False,
    )
    op.create_table(
        "stream_bitrate_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("slot_kbit", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["stream_id"], ["streams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_stream_bitrate_changes_stream_start",
        "stream_bitrate_changes",
        ["stream_id", "started_at"],
        unique=False,
    )
    nodes = sa.table(
        "nodes", sa.column("id", sa.String()), sa.column("capacity_kbit", sa.Integer())
    )
    rows = op.get_bind().execute(sa.select(nodes.c.id, nodes.c.capacity_kbit)).all()
    if rows:
        now = datetime.now(UTC)
        op.bulk_insert(
            capacities,
            [
                {"node_id": node_id, "capacity_kbit": capacity, "started_at": now}
                for node_id, capacity in rows
            ],
        )


def downgrade() -> None:
    op.drop_index("ix_stream_bitrate_changes_stream_start", table_name="stream_bitrate_changes")
    op.drop_table("stream_bitrate_changes")
    op.drop_index("ix_node_capacity_changes_node_start", table_name="node_capacity_changes")
    op.drop_table("node_capacity_changes")
