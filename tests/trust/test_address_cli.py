"""`nodes addresses`, `approve-address`, `keep-one`, `withdraw-address` through the real CLI entry
point on a real SQLite data dir, and then what `payouts compute --dry-run`-like tallies credit."""

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from coordinator_service.cli import main
from coordinator_service.ledger.tally import tally
from coordinator_service.services.clock import utcnow
from tests.fixtures.coordinator import make_database
from tests.trust.households import HOUSE, seed_household

END = utcnow().replace(microsecond=0) - timedelta(minutes=1)


def cli(capsys, data_dir: Path, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--data-dir", str(data_dir)])
    out = capsys.readouterr()
    return code, out.out, out.err


async def _with_session(db_file: Path, work):
    engine = create_async_engine(f"sqlite+aiosqlite:///{db_file}")
    try:
        async with async_sessionmaker(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


def credited(data_dir: Path) -> dict[str, int]:
    async def work(session):
        counted = await tally(session, END - timedelta(hours=2), END, None)
        return counted.streams[0].credited

    return asyncio.run(_with_session(data_dir / "coordinator.db", work))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = make_database(tmp_path / "data")
    asyncio.run(_with_session(folder / "coordinator.db", lambda s: seed_household(s, END)))
    return folder


def test_the_host_lists_approves_keeps_one_and_withdraws_from_the_command_line(
    data_dir: Path, capsys
):
    code, out, err = cli(capsys, data_dir, "nodes", "addresses")
    assert code == 0, err
    assert "main    203.0.113.7  Sam, Ann  Sam       asks you" in out
    assert "one person gets one share" in out and "nodes approve-address ADDRESS" in out
    assert credited(data_dir) == {"sam": 3590, "bob": 3590}

    code, out, err = cli(capsys, data_dir, "nodes", "approve-address", HOUSE, "--stream", "main")
    assert code == 0, err
    assert out.strip() == (
        "approved 2 nodes from 203.0.113.7 on stream main: approved; credited: Sam, Ann"
    )
    assert credited(data_dir) == {"sam": 3590, "ann": 3590, "bob": 3590}
    code, out, _ = cli(capsys, data_dir, "nodes", "addresses", "--json")
    [group] = json.loads(out)
    assert (group["state"], group["max_nodes"], group["address"]) == ("approved", 2, HOUSE)

    code, out, err = cli(capsys, data_dir, "nodes", "keep-one", f"{HOUSE}:9000", "--stream", "main")
    assert code == 0, err
    assert (
        out.strip() == "kept one: 2 nodes from 203.0.113.7 on stream main: kept one; credited: Sam"
    )
    assert credited(data_dir) == {"sam": 3590, "bob": 3590}

    code, out, err = cli(capsys, data_dir, "nodes", "withdraw-address", HOUSE, "--stream", "main")
    assert code == 0, err
    assert "the dashboard asks again" in out
    code, out, _ = cli(capsys, data_dir, "nodes", "addresses")
    assert "asks you" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("approve-address", HOUSE, "--stream", "nope"), 1, "no stream named 'nope'"),
        (("approve-address", "198.51.100.99", "--stream", "main"), 1,
         "no nodes share address 198.51.100.99 on stream main"),
        (("keep-one", "the attic", "--stream", "main"), 2, "'the attic' is not an address"),
        (("approve-address", HOUSE, "--stream", "main", "--max", "1"), 2, "keep one instead"),
        (("withdraw-address", HOUSE, "--stream", "main"), 1, "no approval for address"),
    ],
)  # fmt: skip
def test_bad_address_commands_fail_with_one_clear_line(data_dir: Path, capsys, args, code, message):
    result, _, err = cli(capsys, data_dir, "nodes", *args)
    assert result == code
    assert message in err and len(err.strip().splitlines()) == 1


def test_an_approval_names_its_stream(data_dir: Path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["nodes", "approve-address", HOUSE, "--data-dir", str(data_dir)])
    assert exited.value.code == 2
    assert "the following arguments are required: --stream" in capsys.readouterr().err


def test_address_commands_need_the_data_dir_of_a_coordinator(tmp_path: Path, capsys):
    code, _, err = cli(capsys, tmp_path / "nowhere", "nodes", "addresses")
    assert code == 1 and "no coordinator database" in err
