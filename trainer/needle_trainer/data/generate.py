"""Compose training examples: pick target tools, realise their requests, add distractors.

One :class:`ExampleMaker` per worker. ``make_chunk(seed, split, chunk, n)`` is a pure function of
its arguments (every random draw, Faker's included, is seeded from them), which is what makes
streams reproducible and resumable by chunk index, whatever the number of workers.

An example is ``{"query", "tools", "calls", "meta"}``: ``tools`` are OpenAI-style function dicts,
``calls`` are ``{"name", "arguments"}`` with the tools' own names, ``meta`` says how it was made
(kind, source, augmentations; readers may ignore it). ``meta["exempt"]`` lists the argument
paths whose text is not a verbatim copy (see :data:`.values.EXEMPTIONS`).
"""

from __future__ import annotations

import functools
import random
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from needle_router.tools.naming import internal_identifier
from needle_trainer.data import harvest
from needle_trainer.data.catalogue import CatalogueTool, Domain, _node_at, default_catalogue
from needle_trainer.data.generic import STYLES, GenericTool, generic_tool, style_name
from needle_trainer.data.phrasing import request_parts
from needle_trainer.data.splits import (is_heldout_group, is_heldout_noun, is_heldout_tool,
                                        stream_seed)
from needle_trainer.data.validate import Rejected, dedupe_key, validate_example
from needle_trainer.data.values import ValueMaker

GENERAL_FILE = Path(__file__).resolve().parents[2] / "catalogue" / "general.yaml"
GENERIC_SPACE = 20_000     # distinct generic tools; small enough that workers' caches warm up
CONNECTORS = (" and ", ", and ", ". also ", "; ", " then ", ", also ", " and then ", ". ", " & ", ", plus ")
NO_CALL_LEADS = ("hey, ", "ok so ", "quick question: ", "hmm ", "btw ", "hi! ", "so, ", "one more thing, ",
                 "random question but ", "sorry to bother you, ", "honestly ", "wait, ", "yo ", "hello, ",
                 "i was wondering, ", "out of curiosity, ", "real quick, ", "um, ")
NO_CALL_TAILS = ("?", " thanks", " please", " lol", " 🙂", "??", " if you know", " by the way",
                 " just curious", ", any idea?", "...", " thx", " right now", " for my friend")
FILLERS = ("um", "uh", "like", "i mean", "you know", "er", "hmm", "so")


@dataclass
class DataConfig:
    """The mix of sources, call types and noise (fractions; each group is renormalised)."""

    source: dict[str, float] = field(default_factory=lambda: {"catalogue": 0.55, "generic": 0.3, "harvest": 0.15})
    kind: dict[str, float] = field(default_factory=lambda: {"single": 0.55, "parallel": 0.25, "no_call": 0.2})
    no_call: dict[str, float] = field(default_factory=lambda: {
        "irrelevant": 0.35, "near_miss": 0.25, "missing_tool": 0.25, "empty": 0.15})
    parallel_same_tool: float = 0.35
    max_tools: int = 20
    typo: float = 0.08
    disfluent: float = 0.06
    lowercase: float = 0.2
    rename_tool: float = 0.25
    drop_param_descriptions: float = 0.08
    optional_rate: float = 0.4
    no_call_generic: float = 0.0      # share of no-call examples built on invented tools
    # share of no-call examples built on harvested operations; without them a harvested
    # (real-API-looking) tool is always called in training (needle-2m-r7, trainer/RUNS.md)
    no_call_harvest: float = 0.0
    harvest_groups: int = 12          # harvested groups one chunk draws from

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "DataConfig":
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown data config keys: {sorted(unknown)}")
        return cls(**data)


def _operation_stem(name: str) -> str:
    """An operation's name without case, separators or a version suffix, so that
    ``ListObjectsV2`` and ``list_objects`` (which do the same thing) meet."""
    flat = re.sub(r"[^a-z0-9]", "", name.rsplit(".", 1)[-1].lower())
    return re.sub(r"v\d+$", "", flat)


def _name_words(name: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", _identifier(name)) if len(w) >= 3}


@functools.lru_cache(maxsize=200_000)
def _identifier(name: str) -> str:
    return internal_identifier(name)


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    keys = [k for k, w in weights.items() if w > 0]
    return rng.choices(keys, [weights[k] for k in keys])[0]


# ------------------------------------------------------------------------ query surface

Parts = list[tuple[str, bool]]          # (text, is a copied value)


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    op = rng.randrange(3)
    if op == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op == 1:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def augment(parts: Parts, rng: random.Random, config: DataConfig) -> tuple[Parts, list[str]]:
    """Noise on the words around values (never inside a value): typos, fillers, casing."""
    tags = []
    out = list(parts)
    if rng.random() < config.typo:
        spots = [(i, m) for i, (t, v) in enumerate(out) if not v for m in re.finditer(r"[a-z]{4,}", t)]
        if spots:
            i, m = rng.choice(spots)
            t = out[i][0]
            out[i] = (t[:m.start()] + _typo(m.group(), rng) + t[m.end():], False)
            tags.append("typo")
    if rng.random() < config.disfluent:
        spots = [(i, m.start()) for i, (t, v) in enumerate(out) if not v for m in re.finditer(r"(?<= )\w", t)]
        if spots:
            i, at = rng.choice(spots)
            t = out[i][0]
            filler = rng.choice(FILLERS)
            out[i] = (t[:at] + filler + rng.choice((" ", ", ", "... ")) + t[at:], False)
            tags.append("disfluent")
    if rng.random() < config.lowercase:
        out = [(t if v else t.lower(), v) for t, v in out]
        tags.append("lowercase")
    elif out and not out[0][1] and out[0][0][:1].islower() and rng.random() < 0.5:
        out[0] = (out[0][0][:1].upper() + out[0][0][1:], False)
    return out, tags


def join_requests(requests: list[Parts], rng: random.Random) -> Parts:
    out: Parts = []
    for i, parts in enumerate(requests):
        parts = list(parts)
        if i:
            out.append((rng.choice(CONNECTORS), False))
        if i < len(requests) - 1 and parts and not parts[-1][1]:
            parts[-1] = (parts[-1][0].rstrip(" ?.!"), False)
        out += parts
    return out


def query_text(parts: Parts) -> str:
    return " ".join("".join(t for t, _ in parts).split())


# ------------------------------------------------------------------------------ requests

@dataclass
class Request:
    parts: Parts
    name: str
    arguments: dict[str, Any]
    exempt: set[tuple[str, ...]]


def catalogue_request(tool: CatalogueTool, values: ValueMaker) -> Request:
    tpl = values.rng.choice(tool.templates)
    parts: Parts = []
    args: dict[str, Any] = {}
    exempt: set[tuple[str, ...]] = set()
    for part in tpl.parts:
        if isinstance(part, str):
            parts.append((part, False))
            continue
        if part.has_fixed:
            value = part.fixed
            exempt.add(part.path)
        else:
            filled = values.value(_node_at(tool.schema, part.path))
            value = filled.value
            parts.append((filled.text, True))
            if filled.exempt:
                exempt.add(part.path)
        if len(part.path) == 1:
            args[part.path[0]] = value
        else:
            args.setdefault(part.path[0], {})[part.path[1]] = value
    return Request(parts, tool.name, args, exempt)


# -------------------------------------------------------------------------- tool shapes

@dataclass(frozen=True)
class ToolRef:
    """A tool as one example shows it: its (possibly restyled) name, description, clean schema."""

    key: str                      # identity across renames (for dedupe within an example)
    name: str
    description: str
    parameters: dict[str, Any]
    schema: dict[str, Any]        # with x- hints
    domain: str | None = None
    action: str = ""
    shape: str = ""               # identity of exactly what the model sees (cache key for encoding)

    def openai(self) -> dict[str, Any]:
        return self._openai

    @functools.cached_property
    def _openai(self) -> dict[str, Any]:
        return {"type": "function", "function": {
            "name": self.name, "description": self.description, "parameters": self.parameters}}


def _harvested_ref(source: str, group: str, tool: Any) -> ToolRef:
    """A harvested operation as examples show it (never renamed: its API named it)."""
    key = f"har:{source}:{group}:{tool.name}"
    return ToolRef(key, tool.name, tool.description, tool.parameters(), tool.schema, f"{source}:{group}",
                   tool.action, shape=key)


def _drop_descriptions(node: Any) -> Any:
    """A schema without its nodes' descriptions (a *parameter* named "description" stays)."""
    if not isinstance(node, dict):
        return node
    out = {k: v for k, v in node.items() if k != "description"}
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: _drop_descriptions(v) for k, v in out["properties"].items()}
    if "items" in out:
        out["items"] = _drop_descriptions(out["items"])
    if isinstance(out.get("anyOf"), list):
        out["anyOf"] = [_drop_descriptions(m) for m in out["anyOf"]]
    return out


def _generic_tool_ref(tool: GenericTool) -> ToolRef:
    return ToolRef(f"gen:{tool.id}", tool.name, tool.description, tool.parameters(), tool.schema,
                   shape=f"gen:{tool.id}")


@functools.lru_cache(maxsize=None)
def _generic_ids_by_noun() -> dict[str, tuple[int, ...]]:
    by_noun: dict[str, list[int]] = {}
    for tool_id in range(GENERIC_SPACE):
        by_noun.setdefault(generic_tool(tool_id).noun, []).append(tool_id)
    return {noun: tuple(ids) for noun, ids in by_noun.items()}


def same_noun_tools(noun: str) -> list[GenericTool]:
    """Every generic tool about ``noun`` (the same held-out status, since that is per noun)."""
    return [generic_tool(i) for i in _generic_ids_by_noun().get(noun, ())]


def _could_serve(ref: ToolRef, target: GenericTool, *, strict: bool) -> bool:
    """Whether a bound tool might serve a request written for ``target``: a generic tool with
    the same purpose (with the same noun at all, when ``strict``), or any other tool whose
    name holds the noun (catalogue and harvested names use verbs of their own)."""
    if ref.key.startswith("gen:"):
        other = generic_tool(int(ref.key[4:]))
        return other.purpose == target.purpose or (strict and other.noun == target.noun)
    return set(target.noun.split("_")) <= set(_identifier(ref.name.split(".")[-1]).split("_"))


class ExampleMaker:
    """Builds examples for one split from the catalogue, generic tools and harvested APIs."""

    def __init__(self, config: DataConfig | None = None, domains: tuple[Domain, ...] | None = None,
                 use_harvest: bool = True):
        self.config = config or DataConfig()
        self.domains = tuple(domains if domains is not None else default_catalogue())
        self.general = tuple(yaml.safe_load(GENERAL_FILE.read_text(encoding="utf-8"))["queries"])
        self.rng = random.Random(0)
        self.values = ValueMaker(self.rng)
        self.rejected: Counter[str] = Counter()
        self._harvest_groups = harvest.all_groups() if use_harvest else []
        self._split_cache: dict[str, tuple] = {}
        self._window = 0
        self._heldout_names: set[str] | None = None
        self._variants: dict[tuple[str, str, bool], ToolRef] = {}
        self._window_groups: dict[tuple[str, int], list[int]] = {}
        self._window_sample: dict[tuple[str, str, int], tuple] = {}
        self._siblings: dict[tuple[str, str], list[CatalogueTool]] = {}

    def _clashes_heldout(self, name: str) -> bool:
        """A generic or harvested tool that happens to share a held-out catalogue tool's name."""
        if self._heldout_names is None:
            self._heldout_names = {t.name for d in self.domains for t in d.tools if is_heldout_tool(t.name)}
        return _identifier(name.split(".")[-1]) in self._heldout_names

    # ---------------------------------------------------------------- split-aware pools
    def _pools(self, split: str) -> tuple[list[CatalogueTool], list[tuple[str, str]], list[CatalogueTool]]:
        """(catalogue tools of the split, harvested groups of the split, catalogue distractor
        pool): held-out examples may show training tools as distractors, never the reverse."""
        if split not in self._split_cache:
            held = split == "heldout"
            tools = [t for d in self.domains for t in d.tools if is_heldout_tool(t.name) == held]
            groups = [g for g in self._harvest_groups if is_heldout_group(*g) == held]
            train = [t for d in self.domains for t in d.tools if not is_heldout_tool(t.name)]
            self._split_cache[split] = (tools, groups, tools if split == "train" else train + tools)
        return self._split_cache[split]

    def _catalogue_ref(self, tool: CatalogueTool) -> ToolRef:
        """The tool as this example shows it: maybe renamed (camel, Pascal, dotted, kebab),
        maybe without parameter descriptions. Variants are built once and reused."""
        cfg, rng = self.config, self.rng
        style = rng.choice(STYLES[3:]) if rng.random() < cfg.rename_tool else "snake"
        bare = rng.random() < cfg.drop_param_descriptions
        ref = self._variants.get((tool.name, style, bare))
        if ref is None:
            name = (f"{tool.domain}.{tool.name}" if style == "dotted"
                    else style_name([tool.name], style, rng) if style != "snake" else tool.name)
            params = _drop_descriptions(tool.parameters) if bare else tool.parameters
            ref = ToolRef(f"cat:{tool.name}", name, tool.description, params, tool.schema, tool.domain,
                          shape=f"cat:{name}{'|bare' if bare else ''}")
            self._variants[(tool.name, style, bare)] = ref
        return ref

    def _generic_ref(self, split: str) -> ToolRef:
        return _generic_tool_ref(self._generic_tool(split))

    def _generic_tool(self, split: str) -> GenericTool:
        held = split == "heldout"
        # ~9% of generic tools are held out: 50 draws missed one about once in a hundred
        # held-out requests (a 500-example held-out set crashed); 1,000 never do in practice
        for _ in range(1000):
            tool: GenericTool = generic_tool(self.rng.randrange(GENERIC_SPACE))
            if is_heldout_noun(tool.noun) == held and (held or not self._clashes_heldout(tool.name)):
                return tool
        raise RuntimeError("no generic tool found for split")  # pragma: no cover

    def _harvest_ref(self, split: str) -> ToolRef | None:
        groups = self._pools(split)[1]
        if not groups:
            return None
        # a chunk draws from a window of groups that changes every 64 chunks: converting a
        # group costs ~15 ms, converting all of them ~15 s, so workers keep a bounded cache
        pick = self._window_groups.get((split, self._window))
        if pick is None:
            window = random.Random(f"harvest-window:{split}:{self._window}")
            pick = window.sample(range(len(groups)), min(len(groups), self.config.harvest_groups))
            self._window_groups[(split, self._window)] = pick
        source, group = groups[pick[self.rng.randrange(len(pick))]]
        tools = self._window_tools(source, group)
        if not tools:
            return None
        t = self.rng.choice(tools)
        if split == "train" and self._clashes_heldout(t.name):
            return None
        return _harvested_ref(source, group, t)

    def _window_tools(self, source: str, group: str) -> tuple:
        """At most 48 of a group's operations per window (a big API has hundreds), so the
        encoder's caches stay warm within a window; other operations come in later windows."""
        key = (source, group, self._window)
        tools = self._window_sample.get(key)
        if tools is None:
            every = harvest.group_tools(source, group)
            if len(every) > 48:
                every = tuple(random.Random(f"harvest-sample:{source}:{group}:{self._window}").sample(every, 48))
            if len(self._window_sample) > 256:
                self._window_sample.clear()
            tools = self._window_sample[key] = every
        return tools

    def _target(self, split: str, source: str) -> tuple[ToolRef, CatalogueTool | None]:
        if source == "harvest":
            ref = self._harvest_ref(split)
            if ref is not None:
                return ref, None
            source = "generic"
        if source == "generic":
            return self._generic_ref(split), None
        tools = self._pools(split)[0]
        tool = self.rng.choice(tools)
        return self._catalogue_ref(tool), tool

    def _request(self, ref: ToolRef, tool: CatalogueTool | None) -> Request:
        if tool is not None:
            req = catalogue_request(tool, self.values)
        else:
            parts, args, exempt = request_parts(ref.action or ref.name, ref.schema, self.values,
                                                self.config.optional_rate)
            req = Request(parts, ref.name, args, exempt)
        req.name = ref.name
        return req

    def _domain_pool(self, split: str, domain: str) -> list[CatalogueTool]:
        key = (split, domain)
        if key not in self._siblings:
            pool = self._pools(split)[2]
            self._siblings[key] = [t for t in pool if t.domain == domain]
        return self._siblings[key]

    def _distractors(self, split: str, taken: set[str], targets: list[ToolRef], n: int,
                     exclude_domain: str | None = None) -> list[ToolRef]:
        rng, cfg = self.rng, self.config
        pool = self._pools(split)[2]
        # sorted: set order of strings changes with PYTHONHASHSEED, i.e. from process to process
        siblings = [t for d in sorted({t.domain for t in targets if t.domain}) for t in self._domain_pool(split, d)
                    if f"cat:{t.name}" not in taken]
        use_generic = cfg.source.get("generic", 0) > 0
        use_harvest = cfg.source.get("harvest", 0) > 0
        out: list[ToolRef] = []
        names = {t.name for t in targets}
        for _ in range(n * 3):
            if len(out) >= n:
                break
            r = rng.random()
            if r < 0.35 and siblings and exclude_domain is None:
                ref = self._catalogue_ref(rng.choice(siblings))
            elif r < 0.7:
                cand = rng.choice(pool)
                if exclude_domain is not None and cand.domain == exclude_domain:
                    continue
                ref = self._catalogue_ref(cand)
            elif r < 0.88 or not use_harvest:
                if not use_generic:
                    continue
                ref = self._generic_ref(split if split == "train" else rng.choice(("train", "heldout")))
            else:
                ref = self._harvest_ref("train") if split == "train" else self._harvest_ref(
                    rng.choice(("train", "heldout")))
                if ref is None:
                    continue
            if ref.key in taken or ref.name in names:
                continue
            taken.add(ref.key)
            names.add(ref.name)
            out.append(ref)
        return out

    def _n_distractors(self, n_targets: int) -> int:
        r = self.rng.random()
        room = self.config.max_tools - n_targets
        n = 0 if r < 0.1 else self.rng.randint(1, 3) if r < 0.45 else self.rng.randint(4, 8) if r < 0.8 \
            else self.rng.randint(9, 19)
        return max(0, min(n, room))

    # ------------------------------------------------------------------------- examples
    def _calls_example(self, split: str, kind: str) -> dict[str, Any]:
        rng, cfg = self.rng, self.config
        source = _pick(rng, cfg.source)
        n_calls = 1 if kind == "single" else rng.choice((2, 2, 2, 3, 3, 4))
        first, tool = self._target(split, source)
        targets = [(first, tool)]
        while len(targets) < n_calls:
            if rng.random() < cfg.parallel_same_tool:
                targets.append((first, tool))
            else:
                other = self._target(split, _pick(rng, cfg.source))
                same_tool = [t for t in targets if t[0].key == other[0].key]
                if same_tool:                       # the same tool drawn again (maybe restyled)
                    targets.append(same_tool[0])
                elif other[0].name in {t.name for t, _ in targets}:
                    targets.append((first, tool))
                else:
                    targets.append(other)
        requests = [self._request(ref, t) for ref, t in targets]
        unique = list({ref.key: ref for ref, _ in targets}.values())
        tools = unique + self._distractors(split, {r.key for r in unique}, unique,
                                           self._n_distractors(len(unique)))
        rng.shuffle(tools)
        parts, tags = augment(join_requests([r.parts for r in requests], rng), rng, cfg)
        exempt = [[i, *p] for i, r in enumerate(requests) for p in sorted(r.exempt)]
        return {
            "query": query_text(parts),
            "tools": [t.openai() for t in tools],
            "calls": [{"name": r.name, "arguments": r.arguments} for r in requests],
            "meta": {"kind": kind, "source": source, "augment": tags, "exempt": exempt,
                     "tool_keys": [t.shape for t in tools]},
        }

    def _framed(self, query: str) -> Parts:
        """A fixed no-call query with a random lead-in or tail, so the small authored banks
        survive deduplication in large files."""
        rng = self.rng
        if rng.random() < 0.6:
            query = rng.choice(NO_CALL_LEADS) + query
        if rng.random() < 0.4:
            query = query.rstrip(" ?.!") + rng.choice(NO_CALL_TAILS)
        return [(query, False)]

    def _no_call_example(self, split: str) -> dict[str, Any]:
        rng, cfg = self.rng, self.config
        sub = _pick(rng, cfg.no_call)
        if cfg.no_call_harvest > 0 and sub != "empty" and rng.random() < cfg.no_call_harvest:
            example = self._harvest_no_call_example(split, sub)
            if example is not None:
                return example
        if cfg.no_call_generic > 0 and sub != "empty" and rng.random() < cfg.no_call_generic:
            return self._generic_no_call_example(split, sub)
        own = self._pools(split)[0]
        query_parts: Parts
        tools: list[ToolRef] = []
        exclude: str | None = "__none__"       # a domain distractors must not come from
        if sub == "near_miss":
            domain = rng.choice([d for d in self.domains if d.no_call])
            query_parts = self._framed(rng.choice(domain.no_call))
            exclude = None
            same = [t for t in own if t.domain == domain.name] or own
            tools = [self._catalogue_ref(t) for t in rng.sample(same, min(len(same), rng.randint(1, 5)))]
        elif sub == "missing_tool" or (sub == "irrelevant" and rng.random() < 0.6):
            tool = rng.choice(own)
            exclude = tool.domain if sub == "irrelevant" else None
            query_parts = self._request(self._catalogue_ref(tool), tool).parts
            if sub == "missing_tool":
                same = [t for t in own if t.domain == tool.domain and t.name != tool.name]
                tools = [self._catalogue_ref(t) for t in rng.sample(same, min(len(same), rng.randint(1, 4)))]
            else:
                others = [t for t in own if t.domain != tool.domain]
                tools = [self._catalogue_ref(t) for t in rng.sample(others, rng.randint(1, 4))]
        else:
            query_parts = self._framed(rng.choice(self.general))
            if sub == "irrelevant":
                tools = [self._catalogue_ref(t) for t in rng.sample(own, rng.randint(1, 4))]
        if sub != "empty":
            taken = {t.key for t in tools}
            tools += self._distractors(split, taken, tools, self._n_distractors(len(tools)), exclude)
            if sub == "missing_tool":
                tools = [t for t in tools if t.key != f"cat:{tool.name}"]
        else:
            tools = []
        rng.shuffle(tools)
        parts, tags = augment(query_parts, rng, cfg)
        return {"query": query_text(parts), "tools": [t.openai() for t in tools], "calls": [],
                "meta": {"kind": "no_call", "no_call": sub, "source": "catalogue", "augment": tags, "exempt": [],
                         "tool_keys": [t.shape for t in tools]}}

    def _generic_no_call_example(self, split: str, sub: str) -> dict[str, Any]:
        """"No call" among invented tools, so the decision is learnt by reading tools, not by
        remembering which catalogue tools answer which requests:

        * ``near_miss``: a request for a tool that is absent while 1-4 tools for the same
          noun with other verbs are bound ("archive the invoice" beside ``delete_invoice``);
        * ``missing_tool``: the same request among unrelated tools, 0-2 same-noun siblings;
        * ``irrelevant``: small talk, or a request about a noun no bound tool handles.
        """
        rng, cfg = self.rng, self.config
        target = self._generic_tool(split)
        chat = sub == "irrelevant" and rng.random() < 0.4
        if chat:
            query_parts = self._framed(rng.choice(self.general))
        else:
            query_parts = self._request(_generic_tool_ref(target), None).parts
        siblings = [t for t in same_noun_tools(target.noun) if t.purpose != target.purpose]
        n_siblings = {"near_miss": rng.randint(1, 4), "missing_tool": rng.randint(0, 2)}.get(sub, 0)
        tools = [_generic_tool_ref(t) for t in rng.sample(siblings, min(n_siblings, len(siblings)))]
        taken = {t.key for t in tools} | {f"gen:{target.id}"}
        extra = self._distractors(split, taken, tools, self._n_distractors(len(tools)) + (sub == "irrelevant"),
                                  exclude_domain="__none__")
        tools += [t for t in extra if chat or not _could_serve(t, target, strict=sub == "irrelevant")]
        rng.shuffle(tools)
        parts, tags = augment(query_parts, rng, cfg)
        return {"query": query_text(parts), "tools": [t.openai() for t in tools], "calls": [],
                "meta": {"kind": "no_call", "no_call": sub, "source": "generic", "augment": tags, "exempt": [],
                         "tool_keys": [t.shape for t in tools], "absent": f"gen:{target.id}"}}

    def _harvest_no_call_example(self, split: str, sub: str) -> dict[str, Any] | None:
        """"No call" where harvested operations are bound (None: the split has none):

        * ``near_miss`` / ``missing_tool``: a request for one operation while 1-4 (0-2) other
          operations of its API are bound, none with its name or action ("delete the bucket"
          beside ``CreateBucket``; ``ListObjects`` and ``ListObjectsV2`` count as one name);
        * ``irrelevant``: small talk, or the request among other APIs' operations only.

        Other tools bound beside a request share no word of its operation's name (Gmail's
        ``messages.send`` could serve SES's ``SendEmail``, so neither is bound for the other).
        """
        rng, cfg = self.rng, self.config
        target = self._harvest_ref(split)
        if target is None:
            return None
        chat = sub == "irrelevant" and rng.random() < 0.4
        query_parts = self._framed(rng.choice(self.general)) if chat else self._request(target, None).parts
        n_siblings = {"near_miss": rng.randint(1, 4), "missing_tool": rng.randint(0, 2)}.get(sub, 0)
        source, group = target.domain.split(":", 1)
        siblings = [t for t in self._window_tools(source, group)
                    if _operation_stem(t.name) != _operation_stem(target.name) and t.action != target.action
                    and not (split == "train" and self._clashes_heldout(t.name))]
        tools = [_harvested_ref(source, group, t) for t in rng.sample(siblings, min(n_siblings, len(siblings)))]
        taken = {t.key for t in tools} | {target.key}
        words = _name_words(target.name)

        def unrelated(ref: ToolRef) -> bool:
            """Another API's tool; beside a request, also none sharing a word of its name."""
            return ref.domain != target.domain and (chat or not words & _name_words(ref.name))

        for _ in range(rng.randint(1, 4) if sub == "irrelevant" else 0):
            other = self._harvest_ref(split)
            if other is not None and other.key not in taken and unrelated(other):
                tools.append(other)
                taken.add(other.key)
        extra = self._distractors(split, taken, tools, self._n_distractors(len(tools)), exclude_domain="__none__")
        tools += [t for t in extra if unrelated(t)]
        if not tools:
            return None
        rng.shuffle(tools)
        parts, tags = augment(query_parts, rng, cfg)
        return {"query": query_text(parts), "tools": [t.openai() for t in tools], "calls": [],
                "meta": {"kind": "no_call", "no_call": sub, "source": "harvest", "augment": tags, "exempt": [],
                         "tool_keys": [t.shape for t in tools], "absent": None if chat else target.key}}

    def make(self, split: str) -> dict[str, Any]:
        kind = _pick(self.rng, self.config.kind)
        return self._no_call_example(split) if kind == "no_call" else self._calls_example(split, kind)

    def make_chunk(self, seed: int, split: str, chunk: int, n: int) -> list[dict[str, Any]]:
        """``n`` valid, deduplicated (within the chunk) examples; rejects are counted by reason."""
        self.rng.seed(stream_seed(seed, split, chunk))
        self.values.reseed(f"{seed}:{split}:{chunk}")
        self._window = chunk // 64
        out, seen = [], set()
        attempts = 0
        while len(out) < n and attempts < n * 4:
            attempts += 1
            try:
                example = self.make(split)
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                # a harvested schema the converters did not foresee: count it, never stop the stream
                self.rejected[f"generation error: {type(exc).__name__}"] += 1
                continue
            try:
                validate_example(example)
            except Rejected as exc:
                self.rejected[exc.reason] += 1
                continue
            key = dedupe_key(example["query"])
            if key in seen:
                self.rejected["duplicate query"] += 1
                continue
            seen.add(key)
            out.append(example)
        return out
