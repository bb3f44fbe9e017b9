"""Experiment-file validation: every rejection is one ConfigError line naming the file and the dotted key."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.cli import main
from harness.config import EvaluationSettings, load_config, parse_config
from harness.errors import ConfigError
from harness.tasks import Optimizer, Schedule, Split, Task

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "benchmarks" / "configs"

BASE = """
[experiment]
name = "validation"
trials = 2
seed = 0
workers = 1
budget = { evaluations = 4 }

[space]
name = "genetic_cnn"
params = { stages = [3, 4, 5] }

[task]
preset = "digits_quick"
epochs = 1

[evaluation]
executor = "inline"
device = "cpu"

[[algorithms]]
name = "regularized_evolution"
params = { population = 4, sample_size = 2 }
"""


def write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def edited(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def without(section: str, until: str | None = None) -> str:
    """BASE without `section` (up to the next section `until`, or to the end)."""
    start = BASE.index(section)
    return BASE[:start] + (BASE[BASE.index(until) :] if until else "")


def rejection(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    assert len(message) - len(str(path)) <= 302, message
    return message


def test_the_base_document_and_the_shipped_configs_load(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, BASE)).trials == 2
    for path in sorted(CONFIGS.glob("*.toml")):
        assert load_config(path).name


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("evaluations = 4", "evaluations = 0", "experiment.budget.evaluations must be >= 1"),
        ("evaluations = 4", "evaluations = -3", "experiment.budget.evaluations must be >= 1"),
        ("evaluations = 4", "evaluations = nan", "experiment.budget.evaluations must be an integer"),
        ("evaluations = 4", "evaluations = 4.0", "experiment.budget.evaluations must be an integer"),
        ("evaluations = 4", "evaluations = 10_000_001", "experiment.budget.evaluations must be <= 10000000"),
        ("evaluations = 4", "seconds = nan", "experiment.budget.seconds must be a finite number"),
        ("evaluations = 4", "seconds = inf", "experiment.budget.seconds must be a finite number"),
        ("evaluations = 4", "seconds = -1.0", "experiment.budget.seconds must be > 0"),
        ("evaluations = 4", "seconds = 0", "experiment.budget.seconds must be > 0"),
        ("budget = { evaluations = 4 }", "budget = {}", "experiment.budget needs 'evaluations'"),
        ("budget = { evaluations = 4 }", "budget = 4", "experiment.budget must be a table"),
    ],
)
def test_budgets(tmp_path: Path, old: str, new: str, needle: str) -> None:
    assert needle in rejection(tmp_path, edited(old, new))


def test_per_algorithm_budget(tmp_path: Path) -> None:
    text = BASE + "budget = { seconds = -inf }\n"
    assert "algorithms[1].budget.seconds must be a finite number" in rejection(tmp_path, text)


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("nan", "task.optimizer.lr must be a finite number"),
        ("inf", "task.optimizer.lr must be a finite number"),
        ("-0.1", "task.optimizer.lr must be > 0"),
        ("0", "task.optimizer.lr must be > 0"),
        ("'0.1'", "task.optimizer.lr must be a number, got string '0.1'"),
        ("true", "task.optimizer.lr must be a number, got boolean True"),
    ],
)
def test_learning_rates(tmp_path: Path, value: str, needle: str) -> None:
    assert needle in rejection(tmp_path, edited("epochs = 1", f"optimizer = {{ lr = {value} }}"))


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("optimizer = { momentum = nan }", "task.optimizer.momentum must be a finite number"),
        ("optimizer = { weight_decay = -1.0 }", "task.optimizer.weight_decay must be >= 0"),
        ("schedule = { gamma = inf }", "task.schedule.gamma must be a finite number"),
        ("schedule = { milestones = [2, 2.5] }", "task.schedule.milestones[2] must be an integer"),
        ("normalize = [[0.5], [nan]]", "task.normalize[2][1] must be a finite number"),
        ("normalize = [[0.5], [0.0]]", "task.normalize[2] must hold positive standard deviations"),
        ("normalize = [[0.5, 0.5], [1.0]]", "task.normalize needs as many standard deviations as means"),
        ("split = { val = -1 }", "task.split.val must be >= 0"),
        ("split = { seed = 1.5 }", "task.split.seed must be an integer"),
        ("split = 3", "task.split must be a table"),
        ("optimizer = 'adam'", "task.optimizer must be a table, got string 'adam'"),
        ("optimizer = { name = 'sgdd' }", "task.optimizer.name: unknown optimizer 'sgdd'; known: adam"),
        ("augmentation = ['flip']", "task.augmentation[1]: unknown augmentation 'flip'"),
        ("precision = 'fp8'", "task.precision: unknown precision 'fp8'"),
        ("dataset = 'mnist'", "task.dataset: unknown dataset 'mnist'"),
        ("epochs = 1\nbogus = 2", "task: unknown key(s) bogus (allowed: augmentation"),
        ("optimizer = { lr = 0.1, beta = 0.9 }", "task.optimizer: unknown key(s) beta (allowed: lr"),
    ],
)
def test_other_task_fields(tmp_path: Path, line: str, needle: str) -> None:
    assert needle in rejection(tmp_path, edited("epochs = 1", line))


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("epochs = 1", "epochs = 1.5", "task.epochs must be an integer, got float 1.5"),
        ("epochs = 1", "epochs = 3.0", "task.epochs must be an integer, got float 3.0"),
        ("epochs = 1", "epochs = true", "task.epochs must be an integer, got boolean True"),
        ("epochs = 1", "epochs = '3'", "task.epochs must be an integer, got string '3'"),
        ("epochs = 1", "epochs = 0", "task.epochs must be >= 1"),
        ("epochs = 1", "batch_size = 6.4", "task.batch_size must be an integer"),
        ("trials = 2", "trials = 2.0", "experiment.trials must be an integer"),
        ("trials = 2", "trials = false", "experiment.trials must be an integer, got boolean False"),
        ("trials = 2", "trials = 0", "experiment.trials must be >= 1"),
        ("trials = 2", "trials = 10001", "experiment.trials must be <= 10000"),
        ("workers = 1", "workers = 1.0", "experiment.workers must be an integer"),
        ("seed = 0", "seed = '0'", "experiment.seed must be an integer"),
        ("seed = 0", "seed = -1", "experiment.seed must be >= 0"),
        ("seed = 0", "seed = 9223372036854775808", "experiment.seed must be <= 9223372036854775807"),
        ('executor = "inline"', "workers = 2.0", "evaluation.workers must be an integer"),
        ('executor = "inline"', "threads = 0", "evaluation.threads must be >= 1"),
        ("population = 4,", "population = 4.0,", "algorithms[1].params.population must be an integer"),
        ("population = 4,", "population = true,", "algorithms[1].params.population must be an integer"),
        ("population = 4,", "population = 'big',", "algorithms[1].params.population must be an integer"),
        ("stages = [3, 4, 5]", "stages = [3, 4.0, 5]", "space.params.stages[2] must be an integer"),
        ("stages = [3, 4, 5]", "stages = 345", "space.params.stages must be an array"),
    ],
)
def test_integers_must_be_integers(tmp_path: Path, old: str, new: str, needle: str) -> None:
    assert needle in rejection(tmp_path, edited(old, new))


def test_per_algorithm_trials_cap(tmp_path: Path) -> None:
    assert "algorithms[1].trials must be <= 10000" in rejection(tmp_path, BASE + "trials = 20000\n")


def test_unknown_algorithm_parameters_list_the_valid_ones(tmp_path: Path) -> None:
    message = rejection(tmp_path, edited("population = 4,", "populaton = 4,"))
    assert (
        "algorithms[1].params: unknown parameter(s) populaton of algorithm 'regularized_evolution'" in message
    )
    assert "(valid: cycles, population, prefilter, prefilter_k, preset, replacement, sample_size)" in message


def test_unknown_space_parameters_list_the_valid_ones(tmp_path: Path) -> None:
    message = rejection(tmp_path, edited("stages = [3, 4, 5]", "stages = [3, 4, 5], nodes = 3"))
    assert "space.params: unknown parameter(s) nodes of search space 'genetic_cnn'" in message
    assert "channels, crossover_rate, dropout, fc_width, mutation_rate, pooling, stages" in message


def test_parameter_values_the_constructor_rejects_name_the_key(tmp_path: Path) -> None:
    message = rejection(tmp_path, edited("stages = [3, 4, 5]", "stages = [3, 1]"))
    assert "space.params: genetic_cnn stages need at least 2 nodes" in message
    message = rejection(tmp_path, edited("population = 4,", "population = 4, preset = 'nope',"))
    assert "algorithms[1].params: unknown regularized_evolution preset 'nope'" in message


def test_unknown_names(tmp_path: Path) -> None:
    message = rejection(tmp_path, edited('name = "regularized_evolution"', 'name = "hill_climb"'))
    assert "algorithms[1].name: unknown algorithm 'hill_climb'; known:" in message
    message = rejection(tmp_path, edited('name = "genetic_cnn"', 'name = "nasbench"'))
    assert "space.name: unknown search space 'nasbench'" in message
    message = rejection(tmp_path, edited('preset = "digits_quick"', 'preset = "imagenet"'))
    assert "task.preset: unknown task preset 'imagenet'" in message


@pytest.mark.parametrize("device", ["cpu", "cuda", "cuda:0", "cuda:12", "auto", "mps"])
def test_known_devices_are_accepted(tmp_path: Path, device: str) -> None:
    config = load_config(write(tmp_path, edited('device = "cpu"', f'device = "{device}"')))
    assert config.evaluation.device == device


@pytest.mark.parametrize(
    "device", ["tpu", "cuda:", "cuda:x", "cuda:1:2", "CUDA", " cpu", "cuda:\u0661", "cpu\n"]
)
def test_unknown_devices_are_rejected(tmp_path: Path, device: str) -> None:
    text = edited('device = "cpu"', f"device = {device!r}".replace("'", '"'))
    assert "evaluation.device must be a device: cpu, cuda, cuda:N, mps or auto" in rejection(tmp_path, text)


def test_devices_set_in_python_are_checked_too() -> None:
    """The command line's --device and --workers overrides rebuild EvaluationSettings."""
    with pytest.raises(ConfigError, match=r"evaluation\.device must be a device"):
        EvaluationSettings(device="tpu")
    with pytest.raises(ConfigError, match=r"evaluation\.processes must be >= 1"):
        EvaluationSettings(processes=0)
    assert EvaluationSettings(device="cuda:1", processes=2).device == "cuda:1"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (BASE + "\n[extras]\nx = 1\n", "unknown section(s) extras (allowed: algorithms, evaluation"),
        (edited("trials = 2", "trials = 2\nbogus = 1"), "experiment: unknown key(s) bogus (allowed: budget"),
        (BASE + 'bogus = "x"\n', "algorithms[1]: unknown key(s) bogus (allowed: budget, label"),
        (edited('executor = "inline"', "gpus = 2"), "evaluation: unknown key(s) gpus (allowed: address"),
        (edited("trials = 2", '"a\\nb" = 1'), "experiment: unknown key(s) 'a\\nb'"),
    ],
)
def test_unknown_sections_and_keys(tmp_path: Path, text: str, needle: str) -> None:
    assert needle in rejection(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (edited("[space]", "[spaces]"), "unknown section(s) spaces"),
        ('space = "genetic_cnn"\n' + without("[space]", "[task]"), "space must be a table, got string"),
        ("task = 3\n" + without("[task]", "[evaluation]"), "task must be a table, got integer 3"),
        ('algorithms = "re"\n' + without("[[algorithms]]"), "algorithms must be an array of [[algorithms]]"),
        ("algorithms = []\n" + without("[[algorithms]]"), "at least one [[algorithms]] entry is needed"),
        (without("[[algorithms]]"), "at least one [[algorithms]] entry is needed"),
        ("algorithms = [3]\n" + without("[[algorithms]]"), "algorithms[1] must be a table, got integer 3"),
        (
            edited("{ population = 4, sample_size = 2 }", "[4, 2]"),
            "algorithms[1].params must be a table, got array",
        ),
        (edited('name = "validation"', "name = 7"), "experiment.name must be a string, got integer 7"),
        (edited('name = "validation"', 'name = "a/b"'), "experiment.name must be a non-empty printable name"),
        (edited('name = "validation"', "name = 2024-01-01"), "experiment.name must be a string, got date"),
        (BASE + 'label = ""\n', "algorithms[1].label must be a non-empty printable name"),
        (BASE + BASE[BASE.index("[[algorithms]]") :], "algorithm labels must be unique"),
    ],
)
def test_wrong_types_and_shapes(tmp_path: Path, text: str, needle: str) -> None:
    assert needle in rejection(tmp_path, text)


def test_quotes_of_long_input_are_cut(tmp_path: Path) -> None:
    message = rejection(tmp_path, edited('name = "validation"', f'name = "{"x" * 5000}"'))
    assert "experiment.name must have at most 200 characters" in message and "(5000 characters)" in message
    keys = ", ".join(f"k{i} = 1" for i in range(500))
    message = rejection(tmp_path, edited("population = 4,", f"population = 4, {keys},"))
    assert "unknown parameter(s) k0, k1" in message and "(500 keys)" in message


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"[experiment\nname=", "not valid TOML"),
        (b"x = " + b"9" * 5000, "not valid TOML"),
        (b"x = " + b"[" * 5000 + b"]" * 5000, "not valid TOML: arrays or tables nested too deeply"),
        (BASE.encode() + b"\xff\xfe", "not valid TOML: not UTF-8"),
    ],
)
def test_files_that_are_not_toml(tmp_path: Path, data: bytes, needle: str) -> None:
    path = tmp_path / "exp.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError, match="^" + str(path).replace("\\", "\\\\")) as info:
        load_config(path)
    assert needle in str(info.value)


def test_missing_files_and_directories(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.toml")
    with pytest.raises(ConfigError, match="is not a file"):
        load_config(tmp_path)


def test_parse_config_names_its_source() -> None:
    with pytest.raises(ConfigError, match=r"^<config>: unknown section\(s\) x"):
        parse_config({"x": 1})
    with pytest.raises(ConfigError, match=r"^<config>: the file must be a table"):
        parse_config([1, 2])  # type: ignore[arg-type]


def test_tasks_built_in_python_are_checked() -> None:
    good = Task(name="t", dataset="digits", split=Split(train=100, val=50, test=50))
    assert good.key()
    bad = [
        ({"optimizer": Optimizer("adam", lr=math.nan)}, "optimizer.lr must be a finite number"),
        ({"optimizer": Optimizer("adam", lr=math.inf)}, "optimizer.lr must be a finite number"),
        ({"optimizer": Optimizer("sgd", momentum=-0.5)}, "optimizer.momentum must be a finite number >= 0"),
        ({"schedule": Schedule("step", (1.5,))}, "schedule.milestones must be integers >= 0"),
        ({"schedule": Schedule("step", (2,), math.nan)}, "schedule.gamma must be a finite number > 0"),
        ({"epochs": 2.0}, "epochs must be an integer"),
        ({"batch_size": True}, "batch_size must be an integer"),
        ({"split": Split(val=10, seed=0.5)}, "split.seed must be an integer"),  # type: ignore[arg-type]
        ({"normalize": ((0.5,), (0.0,))}, "normalize must be"),
    ]
    for change, needle in bad:
        fields = {"name": "t", "dataset": "digits", "split": Split(val=50), **change}
        with pytest.raises(ConfigError, match=needle.replace("(", r"\(")):
            Task(**fields)


# --- the command line: exit 2, one line on stderr, nothing stored ---
@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("evaluations = 4", "evaluations = nan", "experiment.budget.evaluations"),
        ("epochs = 1", "optimizer = { lr = -1.0 }", "task.optimizer.lr"),
        ('device = "cpu"', 'device = "tpu"', "evaluation.device"),
        ("population = 4,", "populaton = 4,", "populaton"),
    ],
)
def test_cli_run_of_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], old, new, needle) -> None:
    path = write(tmp_path, edited(old, new), "bad.toml")
    cache = tmp_path / "c.duckdb"
    assert main(["run", str(path), "--cache", str(cache), "--out", str(tmp_path / "report")]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"evonas: error: {path}: ") and needle in lines[0], lines
    assert captured.out == ""
    assert not cache.exists() and not (tmp_path / "report").exists()


def test_cli_device_override_is_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "c.duckdb"
    assert main(["run", str(write(tmp_path, BASE)), "--cache", str(cache), "--device", "tpu"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "evaluation.device must be a device" in lines[0], lines
    assert not cache.exists()


@pytest.mark.slow
def test_evonas_run_bad_toml_in_a_subprocess(tmp_path: Path) -> None:
    path = write(tmp_path, edited("trials = 2", "trials = 2.5"), "bad.toml")
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(path), "--cache", str(tmp_path / "c.duckdb")],
        capture_output=True,
        text=True,
        cwd=ROOT,  # `-m harness.cli` imports this checkout
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [f"evonas: error: {path}: experiment.trials must be an integer, got float 2.5"]
    assert done.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_workers_keys_renamed_old_names_still_read(tmp_path, caplog):
    """`sim_workers` (simulated, per run) and `processes` (training processes) replace the two `workers`."""
    new = edited("workers = 1", "sim_workers = 3").replace('executor = "inline"', "processes = 2")
    config = load_config(write(tmp_path, new))
    assert (config.sim_workers, config.evaluation.processes) == (3, 2)
    assert all(s.workers == 3 for s in config.run_specs())
    old = edited("workers = 1", "workers = 3").replace('executor = "inline"', "workers = 2")
    with caplog.at_level("WARNING"):
        legacy = load_config(write(tmp_path, old, "old.toml"))
    assert (legacy.sim_workers, legacy.evaluation.processes) == (3, 2)
    assert "experiment.workers is deprecated: write experiment.sim_workers" in caplog.text
    assert "evaluation.workers is deprecated: write evaluation.processes" in caplog.text
    assert legacy.to_json() == config.to_json().replace("old.toml", "exp.toml")
    both = edited("workers = 1", "workers = 1\nsim_workers = 2")
    with pytest.raises(ConfigError, match=r"experiment\.workers is the old name of experiment\.sim_workers"):
        load_config(write(tmp_path, both, "both.toml"))
