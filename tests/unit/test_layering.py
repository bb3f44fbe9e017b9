"""The packages import each other in one direction only: base < cache < harness < algorithms < engine <
reports < front end.

The layers, lowest first (a module may import modules of its own layer and of the layers below it, never
above; every import counts: top-level, inside functions, under `if TYPE_CHECKING`, and
`importlib.import_module("...")` with a literal name):

0. base: `cache.base`, `cache.errors`, `cache.hashing` (errors; identities: canonical JSON, seeds, run ids,
   the version). They import no other evonas module.
1. cache: every other `cache` module (the store, Parquet, merge, verify). Never `harness`: what the cache
   needs from the search spaces comes through `cache.base.resolve_space`, which `harness.spaces` registers.
2. harness: every `harness` module not listed below (spaces, tasks, datasets, data, training, evaluation,
   executors, surrogate, proxies, ...): what algorithms build on.
3. algorithms: every `algorithms` module (they use harness.spaces, harness.training, harness.tasks, ...).
4. engine: `harness.runner`, `harness.run_driver`, `harness.config`, `harness.config_validation`,
   `harness.experiment`, `harness.benchmark`: what drives algorithms (they look algorithms up by name).
5. reports: every `reports` module (they read the cache and may use spaces, tasks, algorithms, the runner's
   checkpoint format).
6. front end: the `harness` package itself (its `__init__` exports the Python API, lazily),
   `harness.__main__`, the command line (`harness.cli`, `harness.cli_*`), `harness.demo`, `harness.bench*`.

A new module of `harness` is in layer 2 unless it is added to a list here, so it may not import algorithms,
the engine or reports by accident.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cache", "harness", "algorithms", "reports")
BASE = {"cache.base", "cache.errors", "cache.hashing"}
ENGINE = {
    "harness.runner",
    "harness.run_driver",
    "harness.config",
    "harness.config_validation",
    "harness.experiment",
    "harness.benchmark",
}
FRONT_PREFIXES = (
    "harness.cli",
    "harness.bench",
)  # harness.cli, harness.cli_*, harness.bench, harness.bench_*
FRONT = {"harness", "harness.__main__", "harness.demo"}
LAYERS = ("base", "cache", "harness", "algorithms", "engine", "reports", "front end")


def layer(module: str) -> int:
    """The layer index of a module name (see the module docstring)."""
    top = module.split(".")[0]
    if module in BASE:
        return 0
    if top == "cache":
        return 1
    if top == "algorithms":
        return 3
    if top == "reports":
        return 5
    if module in FRONT or module.startswith(FRONT_PREFIXES):
        return 6
    if module in ENGINE:
        return 4
    return 2


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, imported module) for every import of an evonas module anywhere in `tree`."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # `from harness import spaces` imports the module harness.spaces (the package is only its parent);
            # `from harness import Benchmark` takes a name from the package itself
            submodules = [f"{target}.{a.name}" for a in node.names if _is_module(f"{target}.{a.name}")]
            out += [(node.lineno, name) for name in submodules]
            if len(submodules) < len(node.names):
                out.append((node.lineno, target))
        elif isinstance(node, ast.Call) and _is_import_call(node):
            out.append((node.lineno, node.args[0].value))
    return [(line, name) for line, name in out if name.split(".")[0] in PACKAGES]


def _is_import_call(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return (
        name in ("import_module", "__import__")
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


def _is_module(name: str) -> bool:
    path = ROOT / Path(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """One line per import of `module` that points to a higher layer."""
    own = layer(module)
    return [
        f"{module}:{line} ({LAYERS[own]}) imports {target} ({LAYERS[layer(target)]})"
        for line, target in imports(ast.parse(source), module, is_package)
        if layer(target) > own
    ]


def all_modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def test_every_import_points_down() -> None:
    problems = []
    for path in all_modules():
        problems += violations(
            path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
        )
    assert problems == [], "imports against the layer order:\n" + "\n".join(problems)


def test_cache_never_imports_harness() -> None:
    offenders = [
        f"{module_name(p)} imports {target}"
        for p in (ROOT / "cache").rglob("*.py")
        for _, target in imports(
            ast.parse(p.read_text(encoding="utf-8")), module_name(p), p.name == "__init__.py"
        )
        if target.split(".")[0] != "cache"
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("cache.store", "import harness\n", "cache.store:1 (cache) imports harness (front end)"),
        (
            "cache.errors",
            "from cache.store import Cache\n",
            "cache.errors:1 (base) imports cache.store (cache)",
        ),
        (
            "harness.tasks",
            "def f():\n    from harness.runner import Runner\n",
            "imports harness.runner (engine)",
        ),
        (
            "algorithms.x",
            "import importlib\nimportlib.import_module('reports.data')\n",
            "imports reports.data",
        ),
        ("harness.training", "from algorithms import get_algorithm\n", "imports algorithms (algorithms)"),
        ("reports.views", "from harness import cli\n", "imports harness.cli (front end)"),
        ("harness.spaces.base", "from .. import runner\n", "imports harness.runner (engine)"),
    ],
)
def test_the_check_finds_violations(module: str, source: str, expected: str) -> None:
    """The checker itself: each of these imports breaks the order and is reported (so the test can fail)."""
    found = violations(source, module)
    assert any(expected in line for line in found), found


def test_allowed_directions_pass() -> None:
    assert violations("from cache.errors import CacheError\n", "cache.store") == []
    assert violations("from harness.spaces import get_space\n", "algorithms.base") == []
    assert violations("from algorithms import get_algorithm\n", "harness.runner") == []
    assert violations("from harness.runner import decode_checkpoint\n", "reports.renas_efficiency") == []
    assert violations("from reports import write_report\n", "harness.cli") == []


def test_layers_of_known_modules() -> None:
    assert [layer(m) for m in ("cache.hashing", "cache.verify", "harness.spaces.genetic_cnn")] == [0, 1, 2]
    assert [layer(m) for m in ("algorithms", "harness.config", "reports.data", "harness.cli_tabulate")] == [
        3,
        4,
        5,
        6,
    ]


def test_harness_errors_are_the_base_layer_classes() -> None:
    """`from harness.errors import X` keeps working, and an `except` with either name catches both."""
    import cache.errors
    import harness.errors

    for name in cache.errors.__dict__:
        if isinstance(getattr(cache.errors, name), type):
            assert getattr(harness.errors, name) is getattr(cache.errors, name), name
    try:
        raise cache.errors.CacheError("x")
    except harness.errors.EvonasError as exc:
        assert isinstance(exc, harness.errors.CacheError)
