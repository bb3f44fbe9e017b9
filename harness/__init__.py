"""evonas experiment engine: search spaces, tasks, data, training, evaluation, executors, runner, CLI."""

__version__ = "0.1.0"
