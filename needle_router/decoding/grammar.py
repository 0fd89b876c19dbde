"""A tool set compiled into the grammar of valid answers, and its token mask for the decoder.

``compile_grammar(specs)`` builds one byte automaton for every answer the tool set allows
(see :mod:`needle_router.decoding.calls` for the format): ``<|no_call|>``, or calls whose
names are the tools' internal names and whose arguments are compact JSON with that tool's keys
in schema order, required keys present, values of the declared types. It is compiled once per
tool set and cached by the set's fingerprint.

At decode time :class:`GrammarConstraint` runs every vocabulary token's bytes through the
automaton from each row's state, inside the jitted loop. Three more checks make the result
valid *by construction*:

* tool ranges: tools are numbered in sorted name order, so the tools reachable from a state of
  the name trie are a contiguous range; a row may be limited to a subset of the tools (its
  retrieved top-k) through a per-row range-min table, with no per-request compilation;
* a length guard: a token is allowed only if the answer can still be finished within the
  remaining token budget (every byte is a token of its own, so the fewest symbols to the end is
  an upper bound on tokens needed), so the budget never cuts an answer in half; in the name
  trie "fewest" counts only the row's allowed tools (a per-row range-min over call lengths);
* symbols are compressed to classes of bytes that behave alike in every state, which keeps the
  transition table small ([states, classes]).
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from needle_router.decoding.automaton import (
    ANY_DEPTH,
    NUM_SYMBOLS,
    SYM_CALL,
    SYM_EOS,
    SYM_INVALID,
    SYM_NO_CALL,
    SYM_STAY,
    UNREACHABLE,
    AutomatonBuilder,
    distances_to,
)
from needle_router.tokenizer import NeedleTokenizer
from needle_router.tokenizer.specials import CALL_ID, EOS_ID, NO_CALL_ID
from needle_router.tools.spec import ToolSpec, tool_set_fingerprint

_STATE_BUCKET_MIN = 256
_CLASS_BUCKETS = (32, 64, 128, 192, NUM_SYMBOLS)


def _pow2_at_least(n: int, minimum: int) -> int:
    size = minimum
    while size < n:
        size *= 2
    return size


@dataclass(frozen=True)
class Grammar:
    """A compiled tool set. ``tool_names[i]`` is the internal name of grammar tool ``i``."""

    table: np.ndarray  # [Q, C] int32: next state per (state, symbol class)
    symbol_class: np.ndarray  # [NUM_SYMBOLS] int32
    dist: np.ndarray  # [Q] int32: fewest symbols to the end
    depth: np.ndarray  # [Q] int32: bytes of the name read, for name-trie states; -1 elsewhere
    call_length: np.ndarray  # [T] int32: fewest symbols of a call to tool t, name to EOS
    lo: np.ndarray  # [Q] int32: first tool reachable from the state, -1 when unrestricted
    hi: np.ndarray  # [Q] int32: one past the last
    start: int  # answers may be "no call"
    start_call: int  # answers must call a tool
    tool_names: tuple[str, ...]
    fingerprint: str
    num_states: int  # before padding
    compile_seconds: float

    @property
    def num_tools(self) -> int:
        return len(self.tool_names)

    def step(self, state: int, symbols: Sequence[int]) -> int:
        """Host-side walk (tests, streaming): the state after ``symbols``."""
        for s in symbols:
            state = int(self.table[state, self.symbol_class[s]])
        return state


def _name_trie(b: AutomatonBuilder, names: Sequence[str], entries: Sequence[int]):
    """Trie over sorted names; returns (root, {state: (lo, hi, depth)})."""
    root = b.new()
    ranges: dict[int, list[int]] = {root: [0, len(names), 0]}
    leaves: list[int] = []
    for t, name in enumerate(names):
        state, depth = root, 0
        for byte in name.encode():
            nxt = b.explicit[state].get(byte)
            depth += 1
            if nxt is None:
                nxt = b.new()
                b.edge(state, byte, nxt)
                ranges[nxt] = [t, t + 1, depth]
            else:
                ranges[nxt][1] = t + 1
            state = nxt
        leaves.append(state)
    for t, leaf in enumerate(leaves):
        b.copy_into(leaf, entries[t])
    return root, ranges, leaves


def _build(specs: Sequence[ToolSpec]) -> Grammar:
    t0 = time.perf_counter()
    specs = sorted(specs, key=lambda s: s.internal_name)
    names = [s.internal_name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError("internal tool names must be unique (use assign_internal_names)")
    b = AutomatonBuilder()
    accept = b.new()
    start = b.new()
    no_call = b.new()
    b.edge(start, SYM_NO_CALL, no_call)
    b.edge(no_call, SYM_EOS, accept)
    b.edge(accept, SYM_EOS, accept)  # a finished row still has one allowed token
    start_call = b.new()
    entries, afters = [], []
    for t, spec in enumerate(specs):
        b.current_tool = t
        after = b.new()
        b.edge(after, SYM_EOS, accept)
        entries.append(b.object(spec.parameters, after, ANY_DEPTH))
        afters.append(after)
    b.current_tool = -1
    ranges: dict[int, list[int]] = {}
    if specs:
        root, ranges, _ = _name_trie(b, names, entries)
        for s in [start, start_call] + afters:
            b.edge(s, SYM_CALL, root)

    full = b.finish()
    dist = distances_to(accept, b.successors())
    # In the name trie the distance depends on which tools a row allows; the constraint
    # recomputes it per row from call_length (the static value assumes all are allowed).
    call_length = np.array([len(n.encode()) + int(dist[e]) for n, e in zip(names, entries)], np.int32)
    depth = np.full(full.shape[0], -1, np.int32)
    for state, (lo, hi, d) in ranges.items():
        dist[state] = int(call_length[lo:hi].min()) - d
        depth[state] = d
    if specs:
        dist[start_call] = 1 + dist[root]
    n = full.shape[0]
    lo = np.full(n, -1, np.int32)
    hi = np.full(n, -1, np.int32)
    tools = np.asarray(b.tool)
    lo[tools >= 0] = tools[tools >= 0]
    hi[tools >= 0] = tools[tools >= 0] + 1
    for state, (a, z, _) in ranges.items():
        lo[state], hi[state] = a, z

    table, symbol_class = _symbol_classes(full)
    q_pad = _pow2_at_least(n, _STATE_BUCKET_MIN)
    c_pad = next(c for c in _CLASS_BUCKETS if c >= table.shape[1])
    padded = np.zeros((q_pad, c_pad), np.int32)
    padded[:n, : table.shape[1]] = table
    pad = lambda a, fill: np.concatenate([a, np.full(q_pad - n, fill, a.dtype)])
    return Grammar(
        table=padded,
        symbol_class=symbol_class,
        dist=pad(np.minimum(dist, UNREACHABLE).astype(np.int32), UNREACHABLE),
        depth=pad(depth, -1),
        call_length=call_length,
        lo=pad(lo, -1),
        hi=pad(hi, -1),
        start=start,
        start_call=start_call,
        tool_names=tuple(names),
        fingerprint=tool_set_fingerprint(specs),
        num_states=n,
        compile_seconds=time.perf_counter() - t0,
    )


def _symbol_classes(full: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge symbols whose columns are identical: ([Q, classes] table, symbol -> class).
    Columns are grouped by two random hashes, then compared exactly."""
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((2, full.shape[0]))
    hashes = (weights @ full.astype(np.float64)).T  # [symbols, 2]; collisions only cost a compare
    reps: list[int] = []
    by_hash: dict[tuple[int, int], list[int]] = {}
    symbol_class = np.empty(full.shape[1], np.int32)
    for sym in range(full.shape[1]):
        bucket = by_hash.setdefault((int(hashes[sym, 0]), int(hashes[sym, 1])), [])
        for cls in bucket:
            if np.array_equal(full[:, reps[cls]], full[:, sym]):
                symbol_class[sym] = cls
                break
        else:
            bucket.append(len(reps))
            symbol_class[sym] = len(reps)
            reps.append(sym)
    return np.ascontiguousarray(full[:, reps]), symbol_class


_CACHE: OrderedDict[str, Grammar] = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_SIZE = 64


def compile_grammar(specs: Sequence[ToolSpec]) -> Grammar:
    """The grammar of ``specs`` (internal names must be unique), cached by fingerprint."""
    key = tool_set_fingerprint(sorted(specs, key=lambda s: s.internal_name))
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    grammar = _build(specs)
    with _CACHE_LOCK:
        _CACHE[key] = grammar
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return grammar


# --- tokens as symbol strings ---------------------------------------------------------------


@dataclass(frozen=True)
class TokenSymbols:
    """Every token as a symbol string, tokens sorted by length (longest first)."""

    symbols: np.ndarray  # [L, V] int32: symbol l of the token at sorted position p
    lengths: np.ndarray  # [V] int32, sorted position -> length
    position: np.ndarray  # [V] int32, token id -> sorted position
    longer_than: tuple[int, ...]  # longer_than[l] = tokens with more than l symbols


@functools.lru_cache(maxsize=4)
def token_symbols(tokenizer: NeedleTokenizer) -> TokenSymbols:
    raw = tokenizer.vocab_bytes()
    seqs: list[list[int]] = []
    for tok, data in enumerate(raw):
        if tok == CALL_ID:
            seqs.append([SYM_CALL])
        elif tok == NO_CALL_ID:
            seqs.append([SYM_NO_CALL])
        elif tok == EOS_ID:
            seqs.append([SYM_EOS])
        elif not data:
            seqs.append([SYM_INVALID])
        else:
            seqs.append(list(data))
    lengths = np.array([len(s) for s in seqs])
    order = np.argsort(-lengths, kind="stable")
    longest = int(lengths.max())
    symbols = np.full((longest, len(seqs)), SYM_STAY, np.int32)
    for p, tok in enumerate(order):
        symbols[: lengths[tok], p] = seqs[tok]
    position = np.empty(len(seqs), np.int32)
    position[order] = np.arange(len(seqs))
    longer_than = tuple(int((lengths > l).sum()) for l in range(longest))
    return TokenSymbols(symbols, lengths[order].astype(np.int32), position, longer_than)


# --- the decoder-side constraint --------------------------------------------------------------


@struct.dataclass
class GrammarConstraint:
    """`LogitConstraint` for one batch: a grammar, per-row allowed tools, a token budget."""

    table: jax.Array  # [Q, C] int32
    token_classes: jax.Array  # [L, V] int32, sorted positions
    token_lengths: jax.Array  # [V] int32, sorted positions
    position: jax.Array  # [V] int32, token id -> sorted position
    state_info: jax.Array  # [Q, 4] int32: dist, lo, hi, depth (see Grammar)
    shortest_call: jax.Array  # [B, K, T] int32: sparse table of allowed tools' call lengths
    log2: jax.Array  # [T+1] int32: floor(log2(n))
    start: jax.Array  # [B] int32: each row's start state
    budget: jax.Array  # [B] int32: tokens each row's answer may use, EOS included
    prior: jax.Array  # [B, K, T] float32: sparse table of range-max of each row's tool prior
    longer_than: tuple[int, ...] = struct.field(pytree_node=False)
    has_prior: bool = struct.field(pytree_node=False, default=False)

    def init(self, batch: int):
        return self.start, jnp.int32(0)

    def _final_states(self, q: jax.Array) -> jax.Array:
        """[B] states -> [B, V] state after each token (sorted positions)."""
        classes = self.table.shape[1]
        flat = self.table.reshape(-1)
        n = self.longer_than
        cur = jnp.broadcast_to(q[:, None], (q.shape[0], n[0]))
        segments = []
        for l in range(len(n)):
            cur = flat[cur * classes + self.token_classes[l, : n[l]][None, :]]
            nxt = n[l + 1] if l + 1 < len(n) else 0
            segments.append(cur[:, nxt:])
            cur = cur[:, :nxt]
        return jnp.concatenate(segments[::-1], axis=1)

    def _range(self, table: jax.Array, states: jax.Array, combine) -> jax.Array:
        """Per row, ``combine`` (min or max) of ``table``'s row over the tools reachable from
        each state ([B, ...] states; a range query on the row's sparse table)."""
        info = self.state_info[states]
        lo, hi = info[..., 1], info[..., 2]
        k = self.log2[jnp.maximum(hi - lo, 1)]
        rows = jnp.arange(states.shape[0]).reshape((-1,) + (1,) * (states.ndim - 1))
        return combine(table[rows, k, jnp.maximum(lo, 0)], table[rows, k, jnp.maximum(hi - (1 << k), 0)])

    def _distance(self, states: jax.Array) -> jax.Array:
        """Symbols still needed from each state (unreachable: the dead state, or a tool the row
        does not allow). In the name trie it depends on the row: the shortest call among the
        row's allowed tools under that node, a range-min query on a per-row sparse table."""
        info = self.state_info[states]  # [..., 4]: dist, lo, hi, depth
        dist, lo, depth = info[..., 0], info[..., 1], info[..., 3]
        shortest = self._range(self.shortest_call, states, jnp.minimum)
        in_blocked_tool = (lo >= 0) & (shortest >= UNREACHABLE)
        return jnp.where(depth >= 0, shortest - depth, jnp.where(in_blocked_tool, UNREACHABLE, dist))

    def mask(self, state) -> jax.Array:
        return self.mask_and_bias(state)[0]

    def mask_and_bias(self, state) -> tuple[jax.Array, jax.Array | None]:
        """([B, V] allowed tokens, [B, V] logit offsets or None). The offsets carry each row's
        tool prior into the name: a token read in the name trie gets the best prior of the
        tools still reachable after it minus the best before it, so a whole name gets its
        tool's prior less the best one's, and nothing else is shifted."""
        q, step = state
        final = self._final_states(q)
        ok = self._distance(final) <= jnp.maximum(self.budget - step - 1, 0)[:, None]
        if not self.has_prior:
            return ok[:, self.position], None
        before = self._range(self.prior, q, jnp.maximum)                  # [B]
        after = self._range(self.prior, final, jnp.maximum)               # [B, V]
        in_name = (self.state_info[q, 3] >= 0)[:, None] & (self.state_info[final, 1] >= 0)
        bias = jnp.where(in_name & ok, after - before[:, None], 0.0)
        return ok[:, self.position], bias[:, self.position]

    def advance(self, state, tokens: jax.Array):
        q, step = state
        pos = self.position[tokens]
        classes = self.table.shape[1]
        for l in range(len(self.longer_than)):
            moved = self.table.reshape(-1)[q * classes + self.token_classes[l, pos]]
            q = jnp.where(l < self.token_lengths[pos], moved, q)
        return q, step + 1


@dataclass(frozen=True)
class ConstraintRows:
    """Rows of a batch that decode under one grammar: their indices in the batch, the tools each
    may call (``allowed[i]``: [num_tools] bool; None: all), whether each must call, and the
    answer budget in tokens (EOS included)."""

    factory: "ConstraintFactory"
    rows: Sequence[int]
    allowed: np.ndarray | None = None
    require_call: Sequence[bool] | None = None
    budget: int = 256
    prior: np.ndarray | None = None   # [rows, num_tools] logit offset per tool name (None: none)


class ConstraintFactory:
    """One grammar + tokenizer, ready to constrain batches (alone or mixed with other grammars)."""

    def __init__(self, grammar: Grammar, tokenizer: NeedleTokenizer) -> None:
        self.grammar = grammar
        self.symbols = token_symbols(tokenizer)
        self._device: dict[str, jax.Array] | None = None
        self._lock = threading.Lock()

    def __call__(self, allowed_tools: np.ndarray | None, batch: int, budget: int,
                 require_call: Sequence[bool] | None = None, prior: np.ndarray | None = None) -> GrammarConstraint:
        """A constraint for ``batch`` rows. ``allowed_tools``: [rows, num_tools] bool (None: every
        tool); ``require_call[r]`` forbids "no call" in row r (ignored without tools); ``prior``:
        [rows, num_tools] logits added to each tool's name (None: none). Rows past the given
        ones (batch padding) allow everything."""
        rows = batch if allowed_tools is None else allowed_tools.shape[0]
        if prior is not None and allowed_tools is None:
            rows = prior.shape[0]
        return batch_constraint([ConstraintRows(self, range(rows), allowed_tools, require_call, budget, prior)], batch)

    @property
    def fits_coarse(self) -> bool:
        """Small enough for the shared coarse shapes (most tool sets are)."""
        g = self.grammar
        return (g.num_states <= _MERGED_STATES_MIN and g.table.shape[1] <= _MERGED_CLASSES[0]
                and g.num_tools < _MERGED_TOOLS_MIN)

    def device_tables(self) -> dict[str, jax.Array]:
        """This grammar's tables on the device, made once (a batch of this grammar alone): in the
        shared coarse shapes when it fits them, so a new tool set does not recompile the decode
        loop, else in its own."""
        with self._lock:
            if self._device is None:
                if self.fits_coarse:
                    self._device = _merged_tables([self], alone=False)[0]
                else:
                    g = self.grammar
                    self._device = dict(
                        table=jnp.asarray(g.table),
                        token_classes=jnp.asarray(g.symbol_class[self.symbols.symbols]),
                        state_info=jnp.asarray(np.stack([g.dist, g.lo, g.hi, g.depth], axis=1)),
                    )
            return self._device


# A batch of several grammars gets coarse shapes: every new shape compiles the decode loop
# again (seconds for needle-26m on a CPU), while a larger table only costs memory.
_MERGED_STATES_MIN = 8192
_MERGED_CLASSES = (128, NUM_SYMBOLS)
_MERGED_TOOLS_MIN = 64


def _merged_tables(factories: Sequence[ConstraintFactory],
                   alone: bool = True) -> tuple[dict[str, jax.Array], list[int], list[int]]:
    """One automaton holding several grammars side by side: states and tools renumbered with
    per-grammar offsets, symbol classes refined so each class means one class in every grammar.
    Returns the device tables and each grammar's state and tool offsets. A single grammar
    (``alone``) uses its cached tables."""
    if alone and len(factories) == 1:
        return factories[0].device_tables(), [0], [0]
    grammars = [f.grammar for f in factories]
    joint_of = np.stack([g.symbol_class for g in grammars], axis=1)  # [symbols, G]
    _, first_symbol, joint = np.unique(joint_of, axis=0, return_index=True, return_inverse=True)
    joint = joint.reshape(-1).astype(np.int32)
    classes = next(c for c in _MERGED_CLASSES if c >= len(first_symbol))
    states = _pow2_at_least(sum(g.num_states for g in grammars), _MERGED_STATES_MIN)
    table = np.zeros((states, classes), np.int32)
    info = np.tile(np.array([UNREACHABLE, -1, -1, -1], np.int32), (states, 1))
    q_offsets, t_offsets, q, t = [], [], 0, 0
    for g in grammars:
        n = g.num_states  # the padding rows after them are never reached
        table[q:q + n, : len(first_symbol)] = g.table[:n, g.symbol_class[first_symbol]] + q
        shift = lambda a: np.where(a >= 0, a + t, -1)  # noqa: E731
        info[q:q + n] = np.stack([g.dist, shift(g.lo), shift(g.hi), g.depth], axis=1)[:n]
        q_offsets.append(q)
        t_offsets.append(t)
        q, t = q + n, t + g.num_tools
    device = dict(table=jnp.asarray(table),
                  token_classes=jnp.asarray(joint[factories[0].symbols.symbols]),
                  state_info=jnp.asarray(info))
    return device, q_offsets, t_offsets


def batch_constraint(parts: Sequence[ConstraintRows], batch: int) -> GrammarConstraint:
    """The constraint for a batch whose rows may follow different grammars (requests of
    different tool sets decoded together). Rows no part names (batch padding) follow the first
    part's grammar with all its tools and its budget."""
    factories = list(dict.fromkeys(p.factory for p in parts))
    tables, q_offsets, t_offsets = _merged_tables(factories)
    which = {id(f): i for i, f in enumerate(factories)}
    total_tools = sum(f.grammar.num_tools for f in factories)
    coarse = len(factories) > 1 or factories[0].fits_coarse
    tool_pad = _pow2_at_least(total_tools + 1, _MERGED_TOOLS_MIN if coarse else 8)
    tools = tool_pad - 1
    lengths = np.full((batch, tools), UNREACHABLE, np.int32)
    prior = np.full((batch, tools), _NO_TOOL, np.float32)
    has_prior = any(p.prior is not None for p in parts)
    start = np.zeros(batch, np.int32)
    budget = np.zeros(batch, np.int32)
    covered = np.zeros(batch, bool)
    for part in parts:
        i = which[id(part.factory)]
        g, t0 = part.factory.grammar, t_offsets[i]
        rows = np.asarray(list(part.rows), np.int64)
        allowed = np.ones((len(rows), g.num_tools), bool) if part.allowed is None else part.allowed
        lengths[rows, t0:t0 + g.num_tools] = np.where(allowed, g.call_length, UNREACHABLE)
        if has_prior:
            given = np.zeros((len(rows), g.num_tools), np.float32) if part.prior is None \
                else np.asarray(part.prior, np.float32).reshape(len(rows), g.num_tools)
            prior[rows, t0:t0 + g.num_tools] = np.where(allowed, np.nan_to_num(given, neginf=_NO_TOOL), _NO_TOOL)
        need = np.zeros(len(rows), bool)
        if part.require_call is not None and g.num_tools:
            need[:] = part.require_call
        # a row may be forced to call only if its shortest allowed call fits the budget
        fits = (1 + lengths[rows].min(axis=1, initial=UNREACHABLE)) <= part.budget
        start[rows] = q_offsets[i] + np.where(need & fits, g.start_call, g.start)
        budget[rows] = part.budget
        covered[rows] = True
    if not covered.all():
        first = parts[0].factory.grammar
        pad = ~covered
        lengths[np.ix_(pad, np.arange(first.num_tools))] = first.call_length
        start[pad] = first.start
        budget[pad] = parts[0].budget
    symbols = factories[0].symbols
    return GrammarConstraint(
        budget=jnp.asarray(budget),
        shortest_call=jnp.asarray(_sparse_table(lengths, np.minimum)),   # allowed tools' call lengths
        prior=jnp.asarray(_sparse_table(prior, np.maximum) if has_prior else np.zeros((batch, 1, 1), np.float32)),
        has_prior=has_prior,
        start=jnp.asarray(start),
        token_lengths=_device_array(symbols.lengths),
        position=_device_array(symbols.position),
        log2=jnp.asarray(np.floor(np.log2(np.maximum(np.arange(tool_pad), 1))).astype(np.int32)),
        longer_than=symbols.longer_than,
        **tables,
    )


_NO_TOOL = -1e9   # prior of a tool a row may not call (its tokens are masked anyway)


def _sparse_table(values: np.ndarray, combine) -> np.ndarray:
    """[rows, K, T]: level k holds ``combine`` over each window of 2**k tools, for O(1) range
    queries of any tool range (as :meth:`GrammarConstraint._range` reads them)."""
    tools = values.shape[1]
    levels = [values]
    while (1 << len(levels)) <= tools:
        prev, half = levels[-1], 1 << (len(levels) - 1)
        nxt = prev.copy()
        nxt[:, : tools - half] = combine(prev[:, : tools - half], prev[:, half:])
        levels.append(nxt)
    return np.stack(levels, axis=1)


_DEVICE_ARRAYS: dict[int, tuple[np.ndarray, jax.Array]] = {}


def _device_array(host: np.ndarray) -> jax.Array:
    """Tokenizer-wide arrays copied to the device once."""
    hit = _DEVICE_ARRAYS.get(id(host))
    if hit is None or hit[0] is not host:
        hit = _DEVICE_ARRAYS[id(host)] = (host, jnp.asarray(host))
    return hit[1]
