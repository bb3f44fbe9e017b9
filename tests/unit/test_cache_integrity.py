"""Imports and verification you can trust: every tampering of an export or a cache is caught.

The source cache is the report fixture's Genetic CNN experiment (real genomes proposed by the real
algorithms, fake training: no torch training here), exported once per module; each test tampers with a
copy. Parquet files are rewritten with pyarrow and, where the point is that the derived-fact checks catch
what a digest cannot, the manifest's digest and row count are recomputed as a forger would.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cache import Cache
from cache.merge import merge_export
from cache.parquet import MANIFEST, export_parquet, import_into, import_parquet, load_export
from cache.tables import EXPORTED
from cache.verify import verify
from harness.cli import main
from harness.errors import CacheError
from tests.reportfixtures import build_report_cache, standard_experiments

Rows = list[dict[str, Any]]
OTHER_VERSIONS = json.dumps({"torch": "other"})


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A closed fixture cache: one experiment (4 algorithms x 5 trials), ok and failed evaluations."""
    path = tmp_path_factory.mktemp("source") / "source.duckdb"
    return build_report_cache(path, [standard_experiments()[0]])


@pytest.fixture(scope="module")
def exported(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "export"
    with Cache(source, read_only=True) as cache:
        export_parquet(cache, out)
    return out


@pytest.fixture
def export(exported, tmp_path) -> Path:
    """A private copy of the export, to tamper with."""
    return Path(shutil.copytree(exported, tmp_path / "export"))


@pytest.fixture
def copy(source, tmp_path) -> Path:
    """A private copy of the source cache, to tamper with in SQL."""
    return Path(shutil.copy(source, tmp_path / "copy.duckdb"))


# --- helpers ---
def rewrite(export: Path, table: str, change: Callable[[Rows], Rows], fix_digest: bool = True, schema=None):
    """Rewrite `table`'s file with pyarrow (same schema unless given); recompute its digest if asked."""
    path = export / f"{table}.parquet"
    original = pq.read_table(path)
    rows = change(original.to_pylist())
    pq.write_table(pa.Table.from_pylist(rows, schema=schema or original.schema), path)
    if fix_digest:
        refresh_manifest(export, table)


def refresh_manifest(export: Path, table: str) -> None:
    manifest = json.loads((export / MANIFEST).read_text())
    data = (export / f"{table}.parquet").read_bytes()
    manifest["tables"][table]["sha256"] = hashlib.sha256(data).hexdigest()
    if data.startswith(b"PAR1") and data.endswith(b"PAR1"):
        manifest["tables"][table]["rows"] = pq.read_metadata(export / f"{table}.parquet").num_rows
    (export / MANIFEST).write_text(json.dumps(manifest))


def dump(path: Path) -> dict[str, list[tuple]]:
    with Cache(path, read_only=True) as cache:
        return {t: cache.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in EXPORTED}


def refused(export: Path, match: str) -> str:
    """Import into a new file must fail with one line matching `match`, and leave no file behind."""
    target = export.parent / "never.duckdb"
    with pytest.raises(CacheError, match=match) as info:
        import_into(target, export)
    assert not target.exists() and not Path(f"{target}.wal").exists()
    assert "\n" not in str(info.value)
    return str(info.value)


def problems_after(copy: Path, *statements: str) -> list[str]:
    with Cache(copy) as cache:
        for statement in statements:
            cache.execute(statement)
        return verify(cache)


def first(rows: Rows, **where: Any) -> int:
    return next(i for i, r in enumerate(rows) if all(r[k] == v for k, v in where.items()))


def bump_val_acc(rows: Rows, with_curve: bool = False) -> Rows:
    i = first(rows, status="ok")
    rows[i]["val_acc"] = min(1.0, rows[i]["val_acc"] + 0.05)
    if with_curve:
        rows[i]["curve"] = [*rows[i]["curve"][:-1], rows[i]["val_acc"]]
    return rows


# --- the honest path ---
def test_honest_export_round_trips_and_verifies_clean(source, exported, tmp_path):
    manifest = json.loads((exported / MANIFEST).read_text())
    assert set(manifest["tables"]) == set(EXPORTED) and "checkpoints" not in manifest["tables"]
    for entry in manifest["tables"].values():
        data = (exported / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["rows"] == pq.read_metadata(exported / entry["file"]).num_rows
        assert [c for c, _ in entry["columns"]] == pq.read_schema(exported / entry["file"]).names
    assert not list(exported.glob(".*"))  # no temporary files left
    with Cache(source, read_only=True) as cache:
        assert verify(cache) == []
    target = tmp_path / "target.duckdb"
    dry = import_into(target, exported, "report")
    assert dry.dry_run and not dry.conflicts and not target.exists()
    result = import_into(target, exported)
    assert result.added == dry.added
    assert result.added["evaluations"] > 100 and not result.conflicts
    assert dump(target) == dump(source)
    with Cache(target, read_only=True) as cache:
        assert verify(cache) == []
    again = import_into(target, exported)  # identical rows already stored: a no-op
    assert sum(again.added.values()) == 0 and not again.conflicts
    assert dump(target) == dump(source)


def test_export_replaces_an_older_export_atomically(copy, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "checkpoints.parquet").write_bytes(b"an old export's checkpoints")
    (out / MANIFEST).write_text("{}")
    with Cache(copy, read_only=True) as cache:
        counts = export_parquet(cache, out)
    assert not (out / "checkpoints.parquet").exists()
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, *(f"{t}.parquet" for t in EXPORTED)])
    assert counts == {t: e["rows"] for t, e in json.loads((out / MANIFEST).read_text())["tables"].items()}
    assert load_export(out).rows() == counts


def test_a_task_name_an_architecture_summary_or_a_timestamp_is_not_a_conflict(exported, tmp_path):
    target = tmp_path / "t.duckdb"
    import_into(target, exported)
    with Cache(target) as cache:
        cache.execute("UPDATE tasks SET name = 'a preset sharing the key'")
        cache.execute("UPDATE architectures SET summary = '{}', created_at = now()")
    assert not import_into(target, exported).conflicts


# --- tampered files: caught by import ---
def test_val_acc_raised_with_hash_kept_is_caught(export, copy):
    rewrite(export, "evaluations", bump_val_acc, fix_digest=False)
    refused(export, "evaluations.parquet does not match its manifest digest")
    refresh_manifest(export, "evaluations")  # a forger recomputes the digest: the derived facts still differ
    assert "is not the last value of its curve" in refused(export, r"fail \d+ check")
    problems = problems_after(
        copy, "UPDATE evaluations SET val_acc = val_acc + 0.01 WHERE status = 'ok' AND replicate = 1"
    )
    assert any("is not the last value of its curve" in p for p in problems)


def test_val_acc_and_curve_raised_is_caught_by_the_trajectory(export, copy):
    """Raised together with its curve, the evaluation is self-consistent: the run's fitness still tells."""
    rewrite(export, "evaluations", lambda rows: bump_val_acc(rows, with_curve=True))
    assert "fitness" in refused(export, "trajectory .* is not its evaluation's val_acc")
    problems = problems_after(
        copy,
        "UPDATE evaluations SET val_acc = val_acc + 0.01, curve = list_append(curve[:-1], val_acc + 0.01) "
        "WHERE status = 'ok' AND (arch_hash, replicate) IN (SELECT (arch_hash, replicate) FROM trajectories)",
    )
    assert any("is not its evaluation's val_acc" in p for p in problems)


def test_failed_flipped_to_ok_is_caught(export, copy):
    def flip(rows: Rows) -> Rows:
        rows[first(rows, status="failed")]["status"] = "ok"
        return rows

    rewrite(export, "evaluations", flip)
    refused(export, r"status 'ok' with an error message|without a learning curve")
    problems = problems_after(copy, "UPDATE evaluations SET status = 'ok' WHERE status = 'failed'")
    assert any("status 'ok' with an error message" in p for p in problems)
    assert any("without a parameter count" in p for p in problems)
    # a forger who clears the error and invents metrics still leaves the run's fitness (0) behind
    problems = problems_after(
        copy,
        "UPDATE evaluations SET error = NULL, val_acc = 0.99, curve = [0.99], params = 1, train_loss = 0.1 "
        "WHERE status = 'ok' AND error IS NOT NULL",
    )
    assert any("is not its evaluation's val_acc" in p for p in problems)
    assert any("no size recorded" in p for p in problems)


def test_ok_flipped_to_failed_or_invalid_is_caught(copy):
    problems = problems_after(
        copy, "UPDATE evaluations SET status = 'invalid' WHERE status = 'ok' AND replicate = 0"
    )
    assert any("status 'invalid' without an error message" in p for p in problems)
    assert any("status 'invalid' with val_acc set" in p for p in problems)


def test_trajectory_fitness_changed_is_caught(export, copy):
    def change(rows: Rows) -> Rows:
        rows[first(rows, step=3)]["fitness"] += 0.01
        return rows

    rewrite(export, "trajectories", change)
    refused(export, "fitness .* is not its evaluation's val_acc")
    problems = problems_after(copy, "UPDATE trajectories SET fitness = fitness + 0.01 WHERE step = 3")
    assert sum("is not its evaluation's val_acc" in p for p in problems) == 20


def test_trajectory_cached_flag_clock_and_encoding_are_checked(copy):
    problems = problems_after(
        copy,
        "UPDATE trajectories SET cached = NOT cached WHERE step = 0",
        "UPDATE trajectories SET sim_seconds = sim_seconds + 1 WHERE step = 5",
        "UPDATE trajectories SET encoding = (SELECT min(encoding) FROM trajectories) WHERE step = 7",
    )
    assert sum("cached is True, but this run trained" in p for p in problems) == 20
    assert any("sim_seconds" in p and "sum of the train seconds" in p for p in problems)
    assert any("hashes to" in p for p in problems)


def test_derived_identities_are_checked(copy):
    problems = problems_after(
        copy,
        "UPDATE evaluations SET seed = seed + 1 WHERE replicate = 1",
        "UPDATE tasks SET spec = replace(spec, '\"epochs\": 4', '\"epochs\": 40')",
        "UPDATE architectures SET params = params + 1 WHERE params IS NOT NULL",
        "UPDATE runs SET trial = trial + 100 WHERE trial = 0",
    )
    assert any("is not the derived training seed" in p for p in problems)
    assert any("its spec hashes to" in p for p in problems)
    assert any("differs from its evaluations'" in p for p in problems)
    assert any("experiment/algorithm/trial" in p for p in problems)


def test_duplicate_keys_in_a_file_are_refused(export):
    def duplicate(rows: Rows) -> Rows:
        twin = dict(rows[0], val_acc=0.999 if rows[0]["val_acc"] is not None else None)
        return [*rows, twin]

    rewrite(export, "evaluations", duplicate)
    message = refused(export, "evaluations.parquet holds 1 key.s. more than once")
    assert "x2" in message


def test_wrong_digest_is_refused(export):
    path = export / "runs.parquet"
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    refused(export, "runs.parquet does not match its manifest digest")
    refresh_manifest(export, "runs")
    refused(export, "runs.parquet is not a readable Parquet file")


def test_row_count_differing_from_the_manifest_is_refused(export):
    manifest = json.loads((export / MANIFEST).read_text())
    manifest["tables"]["tasks"]["rows"] += 1
    (export / MANIFEST).write_text(json.dumps(manifest))
    refused(export, "tasks.parquet holds 1 rows, the manifest says 2")


def test_wrong_schema_is_refused(export):
    original = pq.read_schema(export / "evaluations.parquet")
    floats = original.set(original.get_field_index("val_acc"), pa.field("val_acc", pa.float32()))
    rewrite(export, "evaluations", lambda rows: rows, schema=floats)
    refused(export, "evaluations.parquet has another column schema .*val_acc FLOAT, expected DOUBLE")


def test_missing_column_or_edited_manifest_schema_is_refused(export):
    rows = pq.read_table(export / "runs.parquet").drop_columns(["seed"])
    pq.write_table(rows, export / "runs.parquet")
    refresh_manifest(export, "runs")
    refused(export, "runs.parquet has another column schema .*missing seed")
    manifest = json.loads((export / MANIFEST).read_text())
    manifest["tables"]["runs"]["columns"][0][1] = "INTEGER"
    (export / MANIFEST).write_text(json.dumps(manifest))
    refused(export, "manifest's schema of runs.parquet differs .*re-export with this version")


def test_missing_file_is_refused(export):
    (export / "trajectories.parquet").unlink()
    refused(export, "trajectories.parquet is missing")


def test_an_export_without_digests_is_refused(export):
    manifest = json.loads((export / MANIFEST).read_text())
    old = {"format": "evonas-cache", "schema_version": manifest["schema_version"], "rows": {}}
    (export / MANIFEST).write_text(json.dumps(old))
    refused(export, "no users of that format yet.*re-export with this version")
    (export / MANIFEST).unlink()
    refused(export, "not an evonas export")


# --- conflicts with the target ---
@pytest.fixture
def partial(exported, tmp_path):
    """A target holding the export minus two runs, one evaluation of run A measured differently."""
    target = tmp_path / "partial.duckdb"
    import_into(target, exported)
    with Cache(target) as cache:
        runs = cache.execute("SELECT run_id FROM runs ORDER BY run_id LIMIT 2").fetchall()
        run_a, run_b = runs[0][0], runs[1][0]
        arch = cache.execute(
            "SELECT arch_hash FROM trajectories WHERE run_id = ? AND NOT cached ORDER BY step LIMIT 1",
            [run_a],
        ).fetchone()[0]
        others = cache.execute(
            "SELECT count(*) FROM trajectories WHERE run_id = ? AND arch_hash = ?", [run_b, arch]
        ).fetchone()[0]
        assert others == 0
        cache.delete_run(run_a)
        cache.delete_run(run_b)
        cache.execute("UPDATE evaluations SET versions = ? WHERE arch_hash = ?", [OTHER_VERSIONS, arch])
    return target, run_a, run_b, arch


def test_conflict_is_refused_by_default_and_changes_nothing(exported, partial):
    target, _, _, arch = partial
    before = dump(target)
    with pytest.raises(CacheError, match=r"1 key\(s\) are already stored with different values") as info:
        import_into(target, exported)
    assert arch in str(info.value) and "differs in versions" in str(info.value)
    assert "--on-conflict skip" in str(info.value)
    assert dump(target) == before


def test_conflict_report_is_a_dry_run(exported, partial):
    target, _, _, arch = partial
    before = dump(target)
    result = import_into(target, exported, "report")
    assert result.dry_run and [c.key[0] for c in result.conflicts] == [arch]
    assert result.added["runs"] == 1 and result.left_out["runs"] == 1  # run B would come, run A not
    lines = result.lines("x")
    assert lines[0].startswith("dry run, nothing changed") and any(arch in line for line in lines)
    assert dump(target) == before


def test_conflict_skip_keeps_the_stored_row_and_leaves_dependent_runs_out(exported, partial):
    target, run_a, run_b, arch = partial
    result = import_into(target, exported, "skip")
    assert len(result.conflicts) == 1 and result.added["runs"] == 1 and result.left_out["runs"] == 1
    with Cache(target, read_only=True) as cache:
        assert cache.get_run(run_b) is not None and cache.get_run(run_a) is None
        versions = cache.execute("SELECT DISTINCT versions FROM evaluations WHERE arch_hash = ?", [arch])
        assert versions.fetchall() == [(OTHER_VERSIONS,)]
        assert verify(cache) == []


def test_import_into_a_read_only_cache_only_reports(exported, partial):
    target, *_ = partial
    with Cache(target, read_only=True) as cache, pytest.raises(CacheError, match="read-only"):
        merge_export(cache.con, load_export(exported).tables, "skip", read_only=True)


def test_import_parquet_api_refuses_before_writing(export, copy):
    rewrite(export, "trajectories", lambda rows: [dict(r, fitness=0.5) for r in rows])
    before = dump(copy)
    with Cache(copy) as cache, pytest.raises(CacheError, match="fitness"):
        import_parquet(cache, export)
    assert dump(copy) == before


# --- the CLI ---
def test_cli_failed_import_leaves_no_file_and_an_existing_file_unchanged(export, copy, tmp_path, capsys):
    rewrite(export, "evaluations", bump_val_acc)
    new = tmp_path / "new.duckdb"
    assert main(["cache", "import", "--cache", str(new), str(export)]) == 2
    assert not new.exists()
    before = copy.read_bytes()
    assert main(["cache", "import", "--cache", str(copy), str(export)]) == 2
    assert copy.read_bytes() == before  # refused before the target was even opened
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("evonas: error: import from") for line in err)


def test_cli_import_modes_and_verify(exported, partial, capsys):
    target, *_ = partial
    assert main(["cache", "import", "--cache", str(target), str(exported)]) == 2
    assert "already stored with different values" in capsys.readouterr().err
    assert main(["cache", "import", "--cache", str(target), str(exported), "--on-conflict", "report"]) == 0
    assert "1 conflict(s) (evaluations 1)" in capsys.readouterr().out
    assert main(["cache", "import", "--cache", str(target), str(exported), "--on-conflict", "skip"]) == 0
    assert "kept 1 stored row(s)" in capsys.readouterr().out
    assert main(["cache", "verify", "--cache", str(target)]) == 0
    assert "cache verified" in capsys.readouterr().out
    with Cache(target) as cache:
        cache.execute("UPDATE trajectories SET fitness = 1 WHERE step = 0")
    assert main(["cache", "verify", "--cache", str(target)]) == 2
    captured = capsys.readouterr()
    assert "fitness 1.0 is not its evaluation's val_acc" in captured.out
    assert "verification found" in captured.err


def test_cli_query_sql_cannot_touch_files(copy, tmp_path, capsys):
    out = tmp_path / "leak.csv"
    assert main(["cache", "query", "--cache", str(copy), "--sql", "SELECT count(*) AS n FROM runs"]) == 0
    assert capsys.readouterr().out.split() == ["n", "20"]
    for sql in (
        f"COPY (SELECT * FROM evaluations) TO '{out}'",
        f"SELECT * FROM read_csv('{copy}')",
        f"ATTACH '{tmp_path / 'other.duckdb'}' AS other",
        "SET enable_external_access = true",
        "DELETE FROM runs",
    ):
        assert main(["cache", "query", "--cache", str(copy), "--sql", sql]) == 2, sql
        err = capsys.readouterr().err
        assert err.startswith("evonas: error: query failed") or "read-only" in err, err
    assert not out.exists() and not (tmp_path / "other.duckdb").exists()
    assert dump(copy)["runs"]


# --- retraining: the only catch for a forgery consistent with every derived fact ---
@pytest.mark.slow
def test_verify_retrain_catches_a_consistent_forgery(tmp_path, capsys):
    import numpy as np

    from harness.evaluation import Evaluator, Request
    from harness.executors import InlineExecutor
    from harness.spaces import get_space
    from harness.tasks import preset

    space = get_space("genetic_cnn")
    task = replace(preset("digits_quick"), epochs=1)
    rng = np.random.default_rng(0)
    a, b = space.sample(rng), space.sample(rng)
    honest = tmp_path / "honest.duckdb"
    with Cache(honest) as cache:
        Evaluator(cache, space, task, executor=InlineExecutor()).evaluate(
            [Request(a, 0), Request(a, 1), Request(b, 0)]
        )
    assert main(["cache", "verify", "--cache", str(honest), "--retrain", "3", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("identical to the stored result") == 3 and "retrained 3: 3 identical" in out

    export = tmp_path / "export"
    assert main(["cache", "export", "--cache", str(honest), str(export)]) == 0
    rewrite(export, "evaluations", lambda rows: bump_val_acc(rows, with_curve=True))  # digest recomputed
    forged = tmp_path / "forged.duckdb"
    assert main(["cache", "import", "--cache", str(forged), str(export)]) == 0
    assert main(["cache", "verify", "--cache", str(forged)]) == 0  # every derived fact is consistent
    capsys.readouterr()
    assert main(["cache", "verify", "--cache", str(forged), "--retrain", "3"]) == 2
    captured = capsys.readouterr()
    assert captured.out.count("DIFFERS from the stored result (val_acc stored") == 1
    assert "1 of 3 retrained evaluation(s) differ" in captured.err

    with Cache(forged) as cache:  # another torch: differences are reported against the replicate noise
        cache.execute("UPDATE evaluations SET versions = ?", [OTHER_VERSIONS])
    assert main(["cache", "verify", "--cache", str(forged), "--retrain", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("not compared exactly") == 3 and "other library versions" in out
    assert "x the replicate std" in out and "no noise estimate" in out
