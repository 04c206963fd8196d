"""--jobs N and the Dask cluster give the same bytes as one process.

The portfolio is the example log copied into agreements with their own
terms; the batches are made small so several workers really share them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from covenant.calendar import as_date
from covenant.cli.main import main
from covenant.diagnostics import InputError
from covenant.portfolio.backends import BackendError, DaskCluster, LocalPool, backend_for
from covenant.portfolio.run import chunk_size, write_report
from covenant.portfolio.work import FormSource, InProcess

from .conftest import AMNIS_RULES
from .test_portfolio import EXAMPLE, write_facts

AGREEMENTS = ("fund-a", "fund-b", "fund-c", "fund-d")


@pytest.fixture(scope="module")
def fund(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("fund")
    entries = []
    for number, agreement in enumerate(AGREEMENTS):
        entries.append(
            f"  - id: {agreement}\n    rules: {AMNIS_RULES}\n    terms:\n"
            f"      calendar: {{mail_delay_days: {3 + number % 3}}}\n"
        )
    portfolio = folder / "fund.yaml"
    portfolio.write_text("portfolio: parallel\nagreements:\n" + "".join(entries), encoding="utf-8")
    # fund-d has a third of the history: agreements of different sizes finish out of order.
    feed = write_facts(folder / "feed.jsonl", list(AGREEMENTS[:3]))
    with feed.open("a", encoding="utf-8") as stream:
        for record in EXAMPLE[: len(EXAMPLE) // 3]:
            stream.write(json.dumps({**record, "agreement": "fund-d"}) + "\n")
    return portfolio, feed


@pytest.fixture(scope="module")
def one_process(fund: tuple[Path, Path]) -> str:
    buffer = io.StringIO()
    write_report(*fund[:1], [fund[1]], buffer, backend=InProcess())
    return buffer.getvalue()


def test_jobs_2_writes_the_same_bytes_as_jobs_1(fund: tuple[Path, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}.json"
        result = runner.invoke(main, ["portfolio", str(fund[0]), str(fund[1]), "--jobs", jobs, "--output", str(out)])
        assert result.exit_code == 0, result.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    report = json.loads(outputs[0])
    assert [a["agreement"] for a in report["agreements"]] == sorted(AGREEMENTS)


def test_local_pool_with_one_agreement_per_batch_keeps_the_order(fund: tuple[Path, Path], one_process: str) -> None:
    pool = LocalPool(3)
    pool.workers = 10_000  # batches of the smallest size: one agreement each, four batches over three processes
    assert chunk_size(2_000, pool.workers) == 500
    buffer = io.StringIO()
    with pool:
        write_report(*fund[:1], [fund[1]], buffer, backend=pool)
        again = io.StringIO()
        write_report(*fund[:1], [fund[1]], again, backend=pool)  # the same workers, their forms compiled already
    assert buffer.getvalue() == one_process == again.getvalue()


def test_problems_found_in_workers_are_all_reported(fund: tuple[Path, Path], tmp_path: Path) -> None:
    feed = tmp_path / "bad.jsonl"
    lines = fund[1].read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace('"date": "2003-05-09"', '"date": "2003-02-30"')
    lines[-1] = lines[-1].replace('"type": "', '"colour": "red", "type": "')
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with LocalPool(2) as pool, pytest.raises(InputError) as error:
        write_report(fund[0], [feed], io.StringIO(), backend=pool)
    messages = [p.format() for p in error.value.problems]
    assert messages[0].startswith(f"{feed}:1: date: '2003-02-30' is not a calendar date")
    assert messages[-1] == f"{feed}:{len(lines)}: colour: unknown field"


def test_backend_for_picks_by_arguments() -> None:
    assert isinstance(backend_for(1, None), InProcess)
    with backend_for(2, None) as pool:
        assert isinstance(pool, LocalPool) and pool.workers == 2


def test_form_source_ships_the_rule_files() -> None:
    shipped = FormSource.of(AMNIS_RULES, ship=True)
    names = [name for name, _ in shipped.files]
    assert "agreement.yaml" in names and all(n.endswith((".yaml", ".yml")) for n in names)
    assert shipped.digest == FormSource.of(AMNIS_RULES).digest  # the same folder, the same digest, shipped or not


def test_dask_cluster_of_two_processes_gives_the_same_bytes(fund: tuple[Path, Path], one_process: str) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        protocol="tcp",
    ) as cluster:
        with DaskCluster(cluster.scheduler_address) as backend:
            assert backend.workers == 2 and backend.ship_rules
            buffer = io.StringIO()
            write_report(*fund[:1], [fund[1]], buffer, backend=backend)
        assert buffer.getvalue() == one_process
        out = Path(str(fund[1]) + ".dask.json")
        result = CliRunner().invoke(
            main,
            ["portfolio", str(fund[0]), str(fund[1]), "--scheduler", cluster.scheduler_address, "--output", str(out)],
        )
        assert result.exit_code == 0, result.stderr
        assert out.read_text(encoding="utf-8") == one_process


def test_unreachable_scheduler_is_a_clear_error() -> None:
    pytest.importorskip("distributed")
    with pytest.raises(BackendError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        DaskCluster("tcp://127.0.0.1:9", timeout=1)


def test_a_worker_that_dies_is_a_clear_error(fund: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed mid-run (out of memory, a crash in the C core) stops the run with a message, not a traceback."""
    import covenant.portfolio.backends as parallel

    monkeypatch.setattr(parallel, "evaluate_chunk", _die)
    with LocalPool(1) as pool, pytest.raises(BackendError, match="a worker process ended abruptly"):
        write_report(fund[0], [fund[1]], io.StringIO(), backend=pool)


def _die(*_: object) -> None:
    import os

    os._exit(9)


def test_dask_cluster_gives_the_same_bytes_in_every_format(fund: tuple[Path, Path], tmp_path: Path) -> None:
    """Markdown, HTML, CSV and text pages, --since and upcoming --portfolio: a cluster's bytes are one process's."""
    distributed = pytest.importorskip("distributed")
    from covenant.portfolio.agenda import portfolio_agenda

    earlier = tmp_path / "earlier.json"
    with earlier.open("w", encoding="utf-8") as stream:
        write_report(*fund[:1], [fund[1]], stream, as_of=as_date("2003-10-31"))
    formats = ("markdown", "html", "csv", "text")
    local = {}
    for output_format in formats:
        buffer = io.StringIO()
        write_report(*fund[:1], [fund[1]], buffer, output_format=output_format, since=earlier)  # type: ignore[arg-type]
        local[output_format] = buffer.getvalue()
    deadlines = portfolio_agenda(fund[0], [fund[1]], 60, as_of=as_date("2004-03-25"))
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, protocol="tcp"
        ) as cluster,
        DaskCluster(cluster.scheduler_address) as backend,
    ):
        for output_format in formats:
            buffer = io.StringIO()
            write_report(
                *fund[:1],
                [fund[1]],
                buffer,
                output_format=output_format,
                since=earlier,
                backend=backend,  # type: ignore[arg-type]
            )
            assert buffer.getvalue() == local[output_format], output_format
        remote = portfolio_agenda(fund[0], [fund[1]], 60, as_of=as_date("2004-03-25"), backend=backend)
    assert remote == deadlines and deadlines.items
    assert "Changes since the report of 2003-10-31" in local["html"]
