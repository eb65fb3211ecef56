"""relay identity: what each probe probed, the relay URLs a node held, address approvals

Revision ID: 0007_relay_identity
Revises: 0006_stream_hooks
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_relay_identity"
down_revision: str | None = "0006_stream_hooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("probes") as batch_op:
        batch_op.add_column(
            sa.Column("relay_url", sa.String(length=2048), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("address", sa.String(length=64), nullable=False, server_default="")
        )
    op.create_table(
        "relay_endpoints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("relay_url", sa.String(length=2048), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_relay_endpoints_node_start", "relay_endpoints", ["node_id", "started_at"], unique=False
    )
    op.create_table(
        "address_approvals",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("max_nodes", sa.Integer(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["stream_id"], ["streams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("stream_id", "address"),
    )


def downgrade() -> None:
    op.drop_table("address_approvals")
    op.drop_index("ix_relay_endpoints_node_start", table_name="relay_endpoints")
    op.drop_table("relay_endpoints")
    with op.batch_alter_table("probes") as batch_op:
        batch_op.drop_column("address")
        batch_op.drop_column("relay_url")
