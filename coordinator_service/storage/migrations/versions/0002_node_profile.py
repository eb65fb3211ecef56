"""node profile changes: when a friend changed their name or payout handle

Revision ID: 0002_node_profile
Revises: 0001_initial
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_node_profile"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "node_profile_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("old_display_name", sa.String(length=64), nullable=False),
        sa.Column("new_display_name", sa.String(length=64), nullable=False),
        sa.Column("old_payout_handle", sa.String(length=128), nullable=False),
        sa.Column("new_payout_handle", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_node_profile_changes_node_at",
        "node_profile_changes",
        ["node_id", "changed_at"],
        unique=False,
    )
    with op.batch_alter_table("nodes") as batch_op:
        batch_op.add_column(sa.Column("profile_changed_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("nodes") as batch_op:
        batch_op.drop_column("profile_changed_at")
    op.drop_index("ix_node_profile_changes_node_at", table_name="node_profile_changes")
    op.drop_table("node_profile_changes")
