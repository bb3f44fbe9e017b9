"""One page per (experiment, space, task): the headline, summary and warnings, then every view in order."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from harness.errors import ConfigError
from reports import analysis as an
from reports import figures, headline, paper_numbers
from reports import papers as paper_registry  # a module, not its names: reports.papers imports the views
from reports.data import Block, CacheData, safe_name
from reports.document import Page, Section, Text
from reports.views.anytime import anytime_section
from reports.views.architectures import architecture_section
from reports.views.context import PageContext, objective_words
from reports.views.dominance import dominance_section, page_matrix
from reports.views.ecdf import ecdf_section
from reports.views.final_results import final_results
from reports.views.metadata import metadata_section
from reports.views.noise import noise_section
from reports.views.runtime import runtime_section
from reports.views.warnings import page_warnings

log = logging.getLogger(__name__)


def experiment_dir(block: Block) -> str:
    return safe_name(block.experiment.name)


def block_page(
    data: CacheData, block: Block, loaded: Mapping[str, object] | None = None
) -> tuple[Page, dict[str, np.ndarray]]:
    """The page of one (experiment, space, task) and its final samples (for the ranking); `loaded` is what the
    paper registry's load phase read (`reports.papers.load_papers`)."""
    results = an.block_results(data, block)
    warnings: list[str] = []
    setting = None
    try:
        setting = paper_numbers.paper_setting(block.experiment.config.get("paper"), block.task.name)
    except ConfigError as exc:
        log.warning("%s: %s", block.experiment.name, exc)
        warnings.append(f"{exc}: no paper figures shown")
    if not results:
        return _empty_page(block), {}
    ctx = PageContext(
        data=data,
        block=block,
        results=results,
        colors=figures.page_colors(figures.report_palette([r.label for r in data.runs]), list(results)),
        objective=block.objective,
        setting=setting,
        loaded={} if loaded is None else loaded,
    )
    samples = ctx.samples
    matrix = page_matrix(samples)
    top = headline.headline(samples, matrix, {label: len(rs) for label, rs in results.items()})
    warnings.extend(page_warnings(ctx, samples))
    sel, sel_phrase = objective_words(ctx.objective)
    sections = [
        headline.headline_section(top),
        _summary(ctx, warnings),
        final_results(ctx),
        anytime_section(ctx),
        ecdf_section(ctx, samples),
        runtime_section(ctx),
        dominance_section(ctx, samples, matrix),
        *paper_registry.paper_sections(ctx),
        architecture_section(ctx),
        noise_section(ctx),
        *paper_registry.paper_sections(ctx, place="end"),
        metadata_section(ctx),
    ]
    page = Page(
        path=f"{experiment_dir(block)}/{block.slug}",
        title=_title(block),
        subtitle=f"selected on {sel} ({sel_phrase}), reported on test",
        sections=tuple(sections),
        warnings=tuple(warnings),
        figure_dir=f"{experiment_dir(block)}/figures",
        up="index",
    )
    return page, samples


def _title(block: Block) -> str:
    return f"{block.experiment.name}: {block.space} on {block.task.name}"


def _empty_page(block: Block) -> Page:
    return Page(
        path=f"{experiment_dir(block)}/{block.slug}",
        title=_title(block),
        subtitle="no run of this page has a trajectory",
        sections=(
            headline.headline_section(headline.headline({}, None)),
            Section("summary", "Summary", (Text(("No run has any trajectory row.",), kind="warning"),)),
        ),
        warnings=("no run of this page has a trajectory",),
        figure_dir=f"{experiment_dir(block)}/figures",
        up="index",
    )


def _summary(ctx: PageContext, warnings: list[str]) -> Section:
    results: Mapping[str, object] = ctx.results
    block = ctx.block
    n_runs = sum(len(v) for v in ctx.results.values())
    return Section(
        "summary",
        "Summary",
        (
            Text(
                (
                    f"{len(results)} algorithms ({', '.join(results)}), {n_runs} runs on {block.space} / "
                    f"{block.task.name}. "
                    + (
                        "Incumbents are selected on validation, reported on test."
                        if ctx.objective == "val_acc"
                        else "Incumbents are selected on test data and reported on test (see warnings)."
                    ),
                    "Paper setting: "
                    + (paper_numbers.title(ctx.setting) if ctx.setting else "none (not a paper setting)")
                    + ".",
                )
            ),
            Text(tuple(warnings) if warnings else ("No warnings.",), kind="warning" if warnings else "note"),
        ),
    )
