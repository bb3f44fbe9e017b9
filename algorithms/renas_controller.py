"""The RENAS mutation controller (Sec. 4.2, Algorithm 2, Sec. 5.1.3) and the RL baseline's generator.

`MutationController`: an embedding (size 100) and a bidirectional LSTM encoder (hidden 100 per direction;
`bidirectional=False` is the RENAS (non-bi) ablation) over the parent's 5#B-token string; two learned begin
states H^{c-2}, H^{c-1}. Per block b: the mutation router (one fully connected layer applied to each of
H_i1, H_i2, H_o1, H_o2, softmax) picks what to change; the input mutator scores every candidate input
(H^{c-2}, H^{c-1}, H_A^1 .. H_A^{b-1}) by a fully connected layer over [candidate; H_ID] (additive
attention: v . tanh(W_k h_cand + W_q H_ID)) and the op mutator is a fully connected layer on H_ID. 2#B
decisions per child. All weights ~ N(0, 0.01); logits go through `tanh_constant * tanh(logits /
temperature)` (2.5 and 5.0), ENAS's order of the two.

`CellGenerator` (the `renas_rl` baseline, not in the paper's text beyond "RL"): an autoregressive LSTM cell
(100) that writes the 4#B variable tokens of a cell from scratch, NASNet/ENAS style, with the same logit
treatment, so the baseline differs from RENAS only in generating instead of mutating.

Both return the log-probability and entropy of their decisions as tensors (for REINFORCE); sampling takes
its randomness from the run's numpy Generator (probabilities in float64), so the controller's trajectory is
a function of the run's seed and is exactly reproducible after a resume.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from harness.spaces.renas_cell_genome import Block, RenasCellGenome, input_choices

#: chooser(kind, block, probabilities) -> index; kind is "route", "input", "op"
Chooser = Callable[[str, int, np.ndarray], int]


@dataclass(frozen=True)
class ControllerConfig:
    blocks: int
    ops: tuple[str, ...]
    embedding: int = 100
    hidden: int = 100
    bidirectional: bool = True
    tanh_constant: float = 2.5
    temperature: float = 5.0


@dataclass(frozen=True)
class Decisions:
    """What a controller decided: (block, position, value) per decision, with log-probability and entropy."""

    actions: tuple[tuple[int, int, int], ...]
    log_prob: torch.Tensor
    entropy: torch.Tensor


def sampler(rng: np.random.Generator) -> Chooser:
    def choose(kind: str, block: int, probs: np.ndarray) -> int:
        return int(rng.choice(len(probs), p=probs))

    return choose


def replayer(actions: Sequence[tuple[int, int, int]], generates: bool) -> Chooser:
    """A chooser that repeats recorded actions (to score them under the current weights)."""
    queue = list(actions)

    def choose(kind: str, block: int, probs: np.ndarray) -> int:
        if generates:
            return int(queue.pop(0)[2])
        _, position, value = queue[0]
        if kind == "route":
            return int(position)
        queue.pop(0)
        return int(value)

    return choose


def _init(module: nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for p in module.parameters():
            nn.init.normal_(p, 0.0, 0.01, generator=generator)


class _Policy(nn.Module):
    def __init__(self, cfg: ControllerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.n_inputs = cfg.blocks + 1  # c-2, c-1, blocks 1 .. B-1
        self.op_index = {op: k for k, op in enumerate(cfg.ops)}

    def _pick(
        self, logits: torch.Tensor, kind: str, block: int, choose: Chooser, terms: list[torch.Tensor]
    ) -> int:
        logits = self.cfg.tanh_constant * torch.tanh(logits / self.cfg.temperature)
        log_p = torch.log_softmax(logits, dim=-1)
        probs = log_p.detach().double().exp().numpy()
        index = choose(kind, block, probs / probs.sum())
        terms.append(log_p[index])
        terms.append(-(log_p.exp() * log_p).sum())
        return index

    @staticmethod
    def _decisions(actions: list[tuple[int, int, int]], terms: list[torch.Tensor]) -> Decisions:
        return Decisions(tuple(actions), torch.stack(terms[0::2]).sum(), torch.stack(terms[1::2]).sum())


class MutationController(_Policy):
    def __init__(self, cfg: ControllerConfig, generator: torch.Generator) -> None:
        super().__init__(cfg)
        vocab = self.n_inputs + len(cfg.ops) + 1  # inputs, operations, the combiner 'add'
        width = cfg.hidden * (2 if cfg.bidirectional else 1)
        self.embedding = nn.Embedding(vocab, cfg.embedding)
        self.encoder = nn.LSTM(cfg.embedding, cfg.hidden, batch_first=True, bidirectional=cfg.bidirectional)
        self.begin = nn.Parameter(torch.zeros(2, width))  # H^{c-2}, H^{c-1}
        self.router = nn.Linear(width, 1)
        self.in_key = nn.Linear(width, cfg.hidden, bias=False)
        self.in_query = nn.Linear(width, cfg.hidden, bias=False)
        self.in_score = nn.Linear(cfg.hidden, 1, bias=False)
        self.op_mutator = nn.Linear(width, len(cfg.ops))
        _init(self, generator)

    def tokens(self, genome: RenasCellGenome) -> torch.Tensor:
        add = self.n_inputs + len(self.cfg.ops)
        ids = []
        for b in genome.blocks:
            o1, o2 = (self.n_inputs + self.op_index[o] for o in (b.o1, b.o2))
            ids.extend((b.i1, b.i2, o1, o2, add))
        return torch.tensor(ids, dtype=torch.long)

    def decide(self, genome: RenasCellGenome, choose: Chooser) -> Decisions:
        """Algorithm 2: encode the parent, then per block route and mutate."""
        hidden, _ = self.encoder(self.embedding(self.tokens(genome)).unsqueeze(0))
        h = hidden[0].view(self.cfg.blocks, 5, -1)  # per block: H_i1, H_i2, H_o1, H_o2, H_A
        actions: list[tuple[int, int, int]] = []
        terms: list[torch.Tensor] = []
        for b in range(self.cfg.blocks):
            position = self._pick(self.router(h[b, :4]).squeeze(-1), "route", b, choose, terms)
            query = h[b, position]
            if position < 2:
                candidates = torch.cat([self.begin, h[:b, 4]], dim=0)  # c-2, c-1, blocks 1 .. b-1
                assert candidates.shape[0] == input_choices(b)
                scores = self.in_score(torch.tanh(self.in_key(candidates) + self.in_query(query)))
                value = self._pick(scores.squeeze(-1), "input", b, choose, terms)
            else:
                value = self._pick(self.op_mutator(query), "op", b, choose, terms)
            actions.append((b, position, value))
        return self._decisions(actions, terms)


class CellGenerator(_Policy):
    def __init__(self, cfg: ControllerConfig, generator: torch.Generator) -> None:
        super().__init__(cfg)
        vocab = self.n_inputs + len(cfg.ops) + 1  # inputs, operations, the start token
        self.embedding = nn.Embedding(vocab, cfg.embedding)
        self.cell = nn.LSTMCell(cfg.embedding, cfg.hidden)
        self.input_head = nn.Linear(cfg.hidden, self.n_inputs)
        self.op_head = nn.Linear(cfg.hidden, len(cfg.ops))
        _init(self, generator)

    def decide(self, choose: Chooser) -> Decisions:
        """Write i1, i2, o1, o2 of every block; each token feeds the next step."""
        token = torch.tensor([self.n_inputs + len(self.cfg.ops)])
        state = None
        actions: list[tuple[int, int, int]] = []
        terms: list[torch.Tensor] = []
        for b in range(self.cfg.blocks):
            for position in range(4):
                state = self.cell(self.embedding(token), state)
                out = state[0][0]
                if position < 2:
                    logits = self.input_head(out)[: input_choices(b)]
                    value = self._pick(logits, "input", b, choose, terms)
                    token = torch.tensor([value])
                else:
                    value = self._pick(self.op_head(out), "op", b, choose, terms)
                    token = torch.tensor([self.n_inputs + value])
                actions.append((b, position, value))
        return self._decisions(actions, terms)

    def genome(self, actions: Sequence[tuple[int, int, int]]) -> RenasCellGenome:
        values = [v for _, _, v in actions]
        blocks = []
        for b in range(self.cfg.blocks):
            i1, i2, o1, o2 = values[4 * b : 4 * b + 4]
            blocks.append(Block(i1, i2, self.cfg.ops[o1], self.cfg.ops[o2]))
        return RenasCellGenome(tuple(blocks))
