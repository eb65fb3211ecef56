"""`payouts …` and `probes list` through the real CLI entry point on a real SQLite data dir."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from coordinator_service.cli import main
from coordinator_service.storage.models import Probe, Stream
from tests.fixtures.coordinator import make_database
from tests.trust.conftest import Seeder

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def cli(capsys, data_dir: Path, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--data-dir", str(data_dir)])
    out = capsys.readouterr()
    return code, out.out, out.err


async def seed(db_file: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{db_file}")
    try:
        async with async_sessionmaker(engine)() as session:
            stream = await session.scalar(select(Stream).where(Stream.name == "main"))
            assert stream is not None
            seed = Seeder(session)
            await seed.live(stream, (0, 3600))
            await seed.node("alice", display_name="Alice", payout_handle="alice@paypal")
            await seed.node("bob", display_name="Bob", payout_handle="@bob-venmo")
            await seed.up("alice", stream, (0, 3600))
            await seed.up("bob", stream, (1800, 3600))
            session.add(
                Probe(node_id="bob", at=T0 + timedelta(seconds=60), ok=False, reason="stale",
                      detail="stale by 12 s")
            )  # fmt: skip
            await session.commit()
    finally:
        await engine.dispose()


@pytest.fixture
def data_dir(tmp_path: Path, capsys) -> Path:
    folder = make_database(tmp_path / "data")
    code, out, _ = cli(
        capsys, folder, "stream", "add", "main", "--origin", "http://127.0.0.1:1/live/main.m3u8",
        "--pool-per-hour", "10.00",
    )  # fmt: skip
    assert code == 0, out
    asyncio.run(seed(folder / "coordinator.db"))
    return folder


def test_compute_list_export_and_settle_a_payout_from_the_command_line(
    data_dir: Path, tmp_path: Path, capsys
):
    code, out, err = cli(
        capsys, data_dir, "payouts", "compute", "--from", "2026-03-01T00:00:00Z",
        "--to", "2026-03-01T02:00:00+00:00", "--stream", "main",
    )  # fmt: skip
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith("payout pay_") and "pool 10.00 USD" in first
    payout_id = first.split()[1].rstrip(":")
    # 1000 split 3600:1800 -> 666.67 / 333.33: largest remainder to alice
    assert "alice  Alice  alice@paypal   1h00m00s  6.67 USD" in out
    assert "bob    Bob    @bob-venmo     0h30m00s  3.33 USD" in out

    again = cli(capsys, data_dir, "payouts", "compute", "--from", "2026-03-01T01:00:00Z",
                "--to", "2026-03-01T03:00:00Z")  # fmt: skip
    assert again[0] == 1 and "void it first" in again[2] and "Traceback" not in again[2]

    code, out, _ = cli(capsys, data_dir, "payouts", "list")
    assert payout_id in out and "unpaid" in out

    target = tmp_path / "out.csv"
    code, out, _ = cli(capsys, data_dir, "payouts", "export", payout_id, "--csv", str(target))
    assert code == 0 and "wrote 2 lines" in out
    assert target.read_text().splitlines() == [
        "node_id,display_name,payout_handle,credited_seconds,amount,currency",
        "alice,Alice,alice@paypal,3600,6.67,USD",
        "bob,Bob,'@bob-venmo,1800,3.33,USD",
    ]

    code, out, _ = cli(capsys, data_dir, "payouts", "mark-paid", payout_id)
    assert code == 0 and "marked paid at" in out
    code, out, _ = cli(capsys, data_dir, "payouts", "mark-paid", payout_id)
    assert code == 0 and "marked paid (already)" in out
    code, _, err = cli(capsys, data_dir, "payouts", "void", payout_id)
    assert code == 1 and err.strip().endswith("was already paid: it cannot be voided")


def test_probes_list_shows_reasons(data_dir: Path, capsys):
    code, out, _ = cli(capsys, data_dir, "probes", "list", "--node", "bob")
    assert code == 0
    assert "FAIL" in out and "stale" in out and "stale by 12 s" in out
    code, out, _ = cli(capsys, data_dir, "probes", "list", "--node", "alice")
    assert out.strip() == "no probes yet of node alice"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("payouts", "compute", "--from", "March", "--to", "2026-03-02"), 2, "--from: 'March'"),
        (("payouts", "compute", "--from", "2026-03-02", "--to", "2026-03-01"), 2, "end after"),
        (("payouts", "export", "pay_nope", "--csv", "x.csv"), 1, "no payout 'pay_nope'"),
        (("payouts", "mark-paid", "pay_nope"), 1, "no payout 'pay_nope'"),
    ],
)
def test_bad_payout_commands_fail_with_one_clear_line(data_dir: Path, capsys, args, code, message):
    result, _, err = cli(capsys, data_dir, *args)
    assert result == code
    assert message in err and len(err.strip().splitlines()) == 1
