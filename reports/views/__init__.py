"""The report's views, assembled into pages: one page per (experiment, space, task) and an index.

One module per view of a page, in page order: the headline (who won: `reports.headline`); summary and
warnings (`warnings`); final results (`final_results`); 1. anytime curves (`anytime`: vs evaluations and vs
simulated seconds; regret where the space is fully tabulated); 2. ECDFs (`ecdf`: final best, all
evaluated); 3. runtime ECDF with its area (`runtime`); 4. dominance matrix (`dominance`: table and
heatmap); 6. the papers' tables and claims (the registry in `reports.papers`); 7. architecture drawings
(`architectures`); 8. noise (`noise`); the registry's entries placed at the end (the zero-cost views); then
the metadata block (`metadata`). `page` assembles a page, `context` holds what every view needs. The index
(`index`) carries 5. the ranking across (space, task) blocks with its critical-difference diagram
(`ranking`).
"""

from __future__ import annotations

from reports.document import Page
from reports.views.anytime import REGRET_FLOOR, anytime_section
from reports.views.architectures import architecture_section
from reports.views.context import PageContext
from reports.views.dominance import ALPHA, BOOTSTRAP, SEED, dominance_section, page_matrix
from reports.views.ecdf import ecdf_section
from reports.views.ecdf import ok_fitness as _ok_fitness
from reports.views.final_results import final_results
from reports.views.index import index_page
from reports.views.metadata import metadata_section
from reports.views.noise import NOISE_TABLE_ROWS, noise_section
from reports.views.page import block_page, experiment_dir
from reports.views.ranking import RankingInput, ranking_input, ranking_section
from reports.views.runtime import N_TARGETS, runtime_section
from reports.views.warnings import page_warnings

__all__ = [
    "ALPHA",
    "BOOTSTRAP",
    "NOISE_TABLE_ROWS",
    "N_TARGETS",
    "REGRET_FLOOR",
    "SEED",
    "Page",
    "PageContext",
    "RankingInput",
    "_ok_fitness",
    "anytime_section",
    "architecture_section",
    "block_page",
    "dominance_section",
    "ecdf_section",
    "experiment_dir",
    "final_results",
    "index_page",
    "metadata_section",
    "noise_section",
    "page_matrix",
    "page_warnings",
    "ranking_input",
    "ranking_section",
    "runtime_section",
]
