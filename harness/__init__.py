"""evonas experiment engine: search spaces, tasks, data, training, evaluation, executors, runner, CLI."""

from cache.base import VERSION as __version__

__all__ = ["__version__"]
