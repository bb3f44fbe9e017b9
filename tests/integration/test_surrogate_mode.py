"""Surrogate mode end to end: seeded trajectories, flagged answers kept out of `evaluations`, the report's
own block with its predicted share, the policies and scopes, and a resume refused after the table changed."""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import replace

import pytest

from cache import Cache
from harness.cli import main
from harness.errors import EvonasError
from harness.surrogate_current import current_model
from reports import write_report
from reports.data import load
from reports.data_surrogate import predicted_share
from tests.surrogatefixtures import SPACE, TASK, synthetic_table

CONFIG = """
[experiment]
name = "sur"
trials = 2
budget = {{ evaluations = 40 }}
workers = 2

[space]
name = "genetic_cnn"

[task]
preset = "digits"

[evaluation]
mode = "surrogate"
surrogate_policy = "{policy}"
surrogate_scope = "{scope}"

[[algorithms]]
name = "random_search"

[[algorithms]]
name = "regularized_evolution"
params = {{ population = 10, sample_size = 3 }}

[[algorithms]]
name = "genetic_cnn_ga"
params = {{ population = 10 }}
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One synthetic table with its model fitted once; each test runs on a copy of the file."""
    db = tmp_path_factory.mktemp("template") / "t.duckdb"
    with synthetic_table(db, networks=80, replicates=2) as cache:
        current_model(cache, SPACE, TASK.key())
    return db


def run(tmp_path, template, name: str, policy="predicted", scope="space"):
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    db = folder / "t.duckdb"
    if not db.exists():
        shutil.copy(template, db)
    cfg = folder / "c.toml"
    cfg.write_text(textwrap.dedent(CONFIG.format(policy=policy, scope=scope)))
    code = main(["run", str(cfg), "--cache", str(db), "--no-report"])
    return code, db


def trajectories(db) -> list[tuple]:
    with Cache(db, read_only=True) as cache:
        return cache.execute(
            "SELECT run_id, step, arch_hash, replicate, fitness, sim_seconds FROM trajectories ORDER BY ALL"
        ).fetchall()


def test_same_seed_same_trajectory_and_nothing_stored_as_evaluations(tmp_path, template) -> None:
    code_a, a = run(tmp_path, template, "a")
    code_b, b = run(tmp_path, template, "b")
    assert code_a == code_b == 0
    rows = trajectories(a)
    assert rows == trajectories(b) and len(rows) == 6 * 40
    with Cache(a, read_only=True) as cache:
        assert cache.execute("SELECT count(*) FROM evaluations").fetchall()[0][0] == 160  # the table only
        assert cache.execute("SELECT count(*) FROM evaluations WHERE predicted").fetchall()[0][0] == 0
        assert cache.execute("SELECT count(*) FROM predictions").fetchall()[0][0] > 0
        assert cache.execute("SELECT count(DISTINCT model_id) FROM run_surrogates").fetchall()[0][0] == 1
        data = load(cache)
    (task,) = {r.task_key for r in data.runs}
    assert (
        "surrogate gbr" in data.tasks[task].name
        and data.tasks[task].spec["surrogate"]["policy"] == "predicted"
    )
    assert all(predicted_share(r, data.evaluations) == 1.0 for r in data.runs)
    assert all(data.evaluation(q.arch_hash, r.task_key, q.replicate) for r in data.runs for q in r.queries)
    with Cache(a, read_only=True) as cache:
        write_report(cache, tmp_path / "report")
    (page,) = (tmp_path / "report" / "sur").glob("*.md")
    text = page.read_text()
    assert "predicted by a surrogate 100.0%" in text and "Claims of the papers" in text


def test_measured_first_on_the_table_answers_from_measurements(tmp_path, template) -> None:
    code, db = run(tmp_path, template, "m", policy="measured_first", scope="table")
    assert code == 0
    with Cache(db, read_only=True) as cache:
        data = load(cache)
        members = {r[0] for r in cache.execute("SELECT DISTINCT arch_hash FROM evaluations").fetchall()}
    for r in data.runs:
        for q in r.queries:
            ev = data.evaluation(q.arch_hash, r.task_key, q.replicate)
            assert ev is not None
            if q.arch_hash not in members:
                assert ev.status == "invalid"  # scope 'table': what the table lacks is invalid
            elif q.replicate < 2:
                assert not ev.predicted  # a stored replicate is the measurement
            else:
                assert ev.predicted


class Stop(Exception):
    pass


def test_resume_after_the_table_changed_is_refused(tmp_path, template) -> None:
    from harness.config import load_config
    from harness.runner import Runner

    _, db = run(tmp_path, template, "r")  # writes the cache and the config
    config = load_config(tmp_path / "r" / "c.toml")
    specs = [replace(s, experiment="sur2") for s in config.run_specs()]

    def stop(round_index: int) -> None:
        if round_index == 3:
            raise Stop

    with Cache(db) as cache, pytest.raises(Stop):
        Runner(cache, mode="surrogate", checkpoint_seconds=0.0, on_round=stop).run(specs)
    with Cache(db) as cache:
        assert {r.status for r in cache.runs("sur2")} == {"interrupted"}
        cache.execute("UPDATE evaluations SET val_acc = val_acc + 0.001 WHERE replicate = 1")
        with pytest.raises(EvonasError, match="the table changed"):
            Runner(cache, mode="surrogate").run(specs, resume=True)
