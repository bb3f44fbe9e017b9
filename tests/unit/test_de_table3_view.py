"""DE-NAS Table 3 view (Pei, Chang, Tian, Results and Table 3; the authors' population-9.bin and
train_final_model.ipynb): Model 1 = the best score of the final population (entry [0]), Model 2 = its entry
[7] by score; the paper text's readings (best accuracy, fewest parameters) are labelled as such."""

from __future__ import annotations

from pathlib import Path

from cache.store import Cache
from reports import analysis as an
from reports import analysis_generations as ag
from reports import paper_numbers, views
from reports.data import blocks, load
from reports.document import Table
from reports.papers import de_nas
from tests.reportfixtures import AlgoSpec, ExperimentSpec, write_experiment


def test_table3_takes_entries_0_and_7_of_the_final_population(tmp_path: Path) -> None:
    spec = ExperimentSpec(
        name="de",
        space="de_sequential",
        space_params={},
        task="cifar10_de",
        algorithms=(
            AlgoSpec("differential_evolution", params={"population": 8, "children": 4, "generations": 1}),
        ),
        trials=1,
        budget=12,
        noise_networks=0,
    )
    path = tmp_path / "de.duckdb"
    with Cache(path) as cache:
        write_experiment(cache, spec)
    with Cache(path, read_only=True) as cache:
        data = load(cache)
    (block,) = blocks(data)
    results = an.block_results(data, block)
    ctx = views.PageContext(data, block, results, {}, block.objective, paper_numbers.DE_NAS)
    run = results["differential_evolution"][0].run
    generation, population = ag.de_final_population(data, run)
    assert generation == 1 and len(population) == 8
    out = de_nas.pareto_section(ctx)
    (table3,) = [b for b in out if isinstance(b, Table) and b.stem.endswith("de-table3")]
    ours = {row[0]: row for row in table3.rows if str(row[0]).startswith("ours")}
    model1 = next(r for name, r in ours.items() if "Model 1: best score" in name)
    model2 = next(r for name, r in ours.items() if "Model 2: entry [7]" in name)
    assert "entry [0] of population 2" in model1[0]  # 9 populations in the paper: initial + 8 rounds
    assert model1[5] == population[0].encoding and model2[5] == population[7].encoding
    assert model1[4] == f"{population[0].params:,.0f}"
    fewest = min(population, key=lambda m: (m.params, -m.fitness))
    text_rows = [name for name in ours if "the paper's text for Model 2" in name]
    assert bool(text_rows) == (fewest is not population[7])
    assert paper_numbers.DE_PICKS_NOTE in (table3.caption or "")
    (pareto,) = [b for b in out if isinstance(b, Table) and b.stem.endswith("pareto-table")]
    assert any(row[1] == "final population (population 2)" for row in pareto.rows)
