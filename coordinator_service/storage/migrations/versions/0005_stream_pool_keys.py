"""stream pool history (effective from) and per-stream publish keys

Existing streams keep their pool and currency as the first history row (from their creation)
and get a random publish key the host can show with `stream key NAME`.

Revision ID: 0005_stream_pool_keys
Revises: 0004_relay_certificates
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_stream_pool_keys"
down_revision: str | None = "0004_relay_certificates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    history = op.create_table(
        "stream_pool_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pool_per_hour_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(["stream_id"], ["streams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_stream_pool_history_stream_from",
        "stream_pool_history",
        ["stream_id", "effective_from"],
        unique=False,
    )
    with op.batch_alter_table("streams") as batch_op:
        batch_op.add_column(
            sa.Column("publish_key", sa.String(length=64), nullable=False, server_default="")
        )
    connection = op.get_bind()
    streams = sa.table(
        "streams",
        sa.column("id", sa.Integer()),
        sa.column("pool_per_hour_minor", sa.BigInteger()),
        sa.column("currency", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("publish_key", sa.String()),
    )
    rows = connection.execute(
        sa.select(
            streams.c.id, streams.c.pool_per_hour_minor, streams.c.currency, streams.c.created_at
        )
    ).all()
    if rows:
        op.bulk_insert(
            history,
            [
                {
                    "stream_id": sid,
                    "effective_from": created_at,
                    "pool_per_hour_minor": pool,
                    "currency": currency,
                }
                for sid, pool, currency, created_at in rows
            ],
        )
    for sid, *_ in rows:
        connection.execute(
            streams.update()
            .where(streams.c.id == sid)
            .values(publish_key=secrets.token_urlsafe(24))
        )


def downgrade() -> None:
    with op.batch_alter_table("streams") as batch_op:
        batch_op.drop_column("publish_key")
    op.drop_index("ix_stream_pool_history_stream_from", table_name="stream_pool_history")
    op.drop_table("stream_pool_history")
