"""Synthesise training examples for exactly the tools of a user's registry.

Every example shows the user's whole registry, in a shuffled order: a tuned model's router
shows it all (its ``top_k`` is the registry's size), so the model never has to notice that a
tool is missing from the list, and a small model's capacity goes to the registry itself
(training shows most of them part of it, the answer's tools kept, to fit more in a step:
:mod:`.subsets`). Each example is one of:

* ``single``: one call, ``per_tool`` per tool, phrased from the tool's name, description and
  parameters (:mod:`.templates`) or with the data engine's generic pattern;
* ``parallel``: 2-3 requests joined in one query (the same tool twice, or different tools):
  half as framed requests one after another, half as bare clauses joined by "and" (some of
  those one tool said once with its value repeated: "lock the back door and the garage");
* ``no_call``: chit-chat, requests for tools the registry lacks, near misses in the registry's
  own words (:mod:`.no_call`);
* ``confusable``: for pairs of look-alike tools (shared name words or parameters), both tools
  with queries said in their own name words, plus the pair in one query.

Every example passes :func:`needle_trainer.data.validate.validate_example`; queries are unique
by :func:`needle_trainer.data.validate.dedupe_key`; the result is a pure function of the specs
and the arguments.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from needle_router.tools import ToolSpec
from needle_trainer.data.catalogue import default_catalogue
from needle_trainer.data.generate import (
    DataConfig,
    Parts,
    Request,
    augment,
    catalogue_request,
    join_requests,
    query_text,
)
from needle_trainer.data.phrasing import request_parts, words
from needle_trainer.data.validate import Rejected, dedupe_key, validate_example
from needle_trainer.finetune.hints import GENERIC_VERBS, CatalogueBank, RegistryValues, tokens
from needle_trainer.finetune.natural import PLACE_KEY
from needle_trainer.finetune.no_call import NoCallSource
from needle_trainer.finetune.paraphrase import plan_registry
from needle_trainer.finetune.relations import noun_only_tools
from needle_trainer.finetune.templates import PREFIXES, SUFFIXES, ToolProfile, tool_request

NO_CALL_MIX = (("chit_chat", 0.3), ("missing_tool", 0.38), ("near_miss", 0.32))
MAX_CONFUSABLE_PAIRS_PER_TOOL = 3
NOISE = DataConfig(typo=0.08, disfluent=0.05, lowercase=0.25)
COMPACT_RATE = 0.5                 # parallel examples said as bare clauses joined by "and"
ELLIPSIS_RATE = 0.25               # of those, one tool said once with its value repeated ("A and B")
COMPACT_JOINERS = (" and ", " and ", " and ", ", and ", " and then ", ", then ", " and also ", " & ")


@dataclass(frozen=True)
class ConfusablePair:
    first: str
    second: str
    shared: tuple[str, ...]        # what makes them look alike (name words, parameter names)


def confusable_pairs(specs: Sequence[ToolSpec]) -> list[ConfusablePair]:
    """Pairs of tools that look alike: a shared subject word in their names, or the same
    required parameters. At most a few per tool, the most alike first."""
    scored = []
    for a, b in itertools.combinations(specs, 2):
        name_a = set(tokens(words(a.name))) - GENERIC_VERBS
        name_b = set(tokens(words(b.name))) - GENERIC_VERBS
        params_a = set((a.parameters.get("properties") or {}))
        params_b = set((b.parameters.get("properties") or {}))
        shared_words = sorted(name_a & name_b)
        shared_params = sorted(params_a & params_b)
        same_required = bool(a.required) and sorted(a.required) == sorted(b.required)
        if not shared_words and not same_required:
            continue
        union = len(name_a | name_b) or 1
        score = len(shared_words) / union + 0.5 * len(shared_params) / (len(params_a | params_b) or 1)
        scored.append((score, a.name, b.name, tuple(shared_words + [f"param:{p}" for p in shared_params])))
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))
    per_tool: dict[str, int] = {}
    out = []
    for _, a, b, shared in scored:
        if per_tool.get(a, 0) >= MAX_CONFUSABLE_PAIRS_PER_TOOL or per_tool.get(b, 0) >= MAX_CONFUSABLE_PAIRS_PER_TOOL:
            continue
        per_tool[a] = per_tool.get(a, 0) + 1
        per_tool[b] = per_tool.get(b, 0) + 1
        out.append(ConfusablePair(a, b, shared))
    return out


class RegistrySynthesizer:
    """Example maker for one registry (profiles, value hints and no-call sources built once)."""

    def __init__(self, specs: Sequence[ToolSpec], seed: int = 0):
        if not specs:
            raise ValueError("synthesis needs at least one tool")
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"tool names must be unique, got {names}")
        self.rng = random.Random(f"finetune:{seed}")
        self.values = RegistryValues(self.rng)
        self.values.reseed(f"finetune:{seed}")
        domains = default_catalogue()
        bank = CatalogueBank(domains)
        self.profiles = {s.name: ToolProfile.build(s, bank, random.Random(f"hints:{seed}:{s.name}")) for s in specs}
        for name, plan in plan_registry(specs).items():
            self.profiles[name].phrasing = plan
        for name in noun_only_tools(specs):
            self.profiles[name].noun_only = True
        self.openai = {s.name: s.to_openai() for s in specs}
        self.names = names
        self.no_calls = NoCallSource(list(self.profiles.values()), domains)
        self.places = self._place_values(seed)
        self.pairs = confusable_pairs(specs)

    def _place_values(self, seed: int) -> list[str]:
        """A few texts of the registry's place-like string values ("living room", "front"),
        drawn with their own generator so the other examples' draws do not move."""
        values = RegistryValues(random.Random(f"places:{seed}"))
        out = []
        for profile in self.profiles.values():
            for key, node in (profile.schema.get("properties") or {}).items():
                if node.get("type", "string") == "string" and "enum" not in node and PLACE_KEY.search(words(key)):
                    out += [values.value(node).text for _ in range(6)]
        return sorted({v for v in out if v and len(v.split()) <= 3})

    # ------------------------------------------------------------------ pieces
    def _tools(self) -> list[dict[str, Any]]:
        names = list(self.names)
        self.rng.shuffle(names)
        return [self.openai[n] for n in names]

    def _request(self, name: str, action_source: str | None = None, bare: bool = False) -> Request:
        return tool_request(self.profiles[name], self.values, action_source=action_source, bare=bare)

    def _compact(self, requests: list[Request]) -> Parts:
        """"turn off the kitchen lights and lock the front door": bare clauses, commas between
        all but the last two, one lead-in and one closing word for the whole query."""
        rng = self.rng
        out: Parts = [(rng.choice(PREFIXES), False)]
        for i, r in enumerate(requests):
            if i:
                out.append((rng.choice(COMPACT_JOINERS) if i == len(requests) - 1 else ", ", False))
            out += r.parts
        return out + [(rng.choice(SUFFIXES), False)]

    def _calls_example(self, requests: list[Request], kind: str, compact: bool = False,
                       joined: Parts | None = None, **meta: Any) -> dict[str, Any]:
        if joined is None:
            joined = self._compact(requests) if compact else join_requests([r.parts for r in requests], self.rng)
        parts, tags = augment(joined, self.rng, NOISE)
        return {
            "query": query_text(parts),
            "tools": self._tools(),
            "calls": [{"name": r.name, "arguments": r.arguments} for r in requests],
            "meta": {"kind": kind, "source": "synth", "augment": tags,
                     "exempt": [[i, *p] for i, r in enumerate(requests) for p in sorted(r.exempt)], **meta},
        }

    def single(self, name: str) -> dict[str, Any]:
        return self._calls_example([self._request(name)], "single")

    def parallel(self) -> dict[str, Any]:
        n = self.rng.choice((2, 2, 2, 3))
        first = self.rng.choice(self.names)
        chosen = [first]
        while len(chosen) < n:
            if self.rng.random() < 0.3:
                chosen.append(first)
            elif self.pairs and self.rng.random() < 0.25:
                pair = self.rng.choice(self.pairs)
                chosen = [pair.first, pair.second][:n] + chosen[2:] if len(chosen) == 1 else chosen + [pair.first]
            else:
                chosen.append(self.rng.choice(self.names))
        compact = self.rng.random() < COMPACT_RATE
        if compact and self.rng.random() < ELLIPSIS_RATE:
            example = self._elliptical(first, n)
            if example is not None:
                return example
        requests = [self._request(c, bare=compact) for c in chosen[:n]]
        return self._calls_example(requests, "parallel", compact=compact, form="compact" if compact else "framed")

    def _elliptical(self, name: str, n: int) -> dict[str, Any] | None:
        """"lock the back door and the garage", "cancel FL7K2Q and HT93LM": one tool ``n``
        times, said once, with only its one required value repeated. None for tools with
        another number of required parameters, or whose value is not said verbatim."""
        profile = self.profiles[name]
        if len(profile.required) != 1:
            return None
        (key,) = profile.required
        node = (profile.schema.get("properties") or {}).get(key) or {}
        if node.get("type") not in ("string", "integer", "number") or "enum" in node:
            return None
        first = tool_request(profile, self.values, optional_rate=0.0, bare=True)
        others = [self.values.value(node) for _ in range(n - 1)]
        said = [first.arguments.get(key)] + [f.value for f in others]
        if set(first.arguments) != {key} or first.exempt or any(f.exempt for f in others) \
                or len({json.dumps(v) for v in said}) < n:
            return None
        at = next((i for i, (text, is_value) in enumerate(first.parts) if is_value), None)
        the = bool(at) and first.parts[at - 1][0].endswith("the ") and self.rng.random() < 0.5
        parts: Parts = list(first.parts)
        for i, filled in enumerate(others):
            joiner = " and " if i == len(others) - 1 else ", "
            parts += [(joiner + ("the " if the else ""), False), (filled.text, True)]
        requests = [first] + [Request([], name, {key: f.value}, set()) for f in others]
        joined = [(self.rng.choice(PREFIXES), False), *parts, (self.rng.choice(SUFFIXES), False)]
        return self._calls_example(requests, "parallel", joined=joined, form="elliptical")

    def confusable(self, pair: ConfusablePair, which: str) -> dict[str, Any]:
        """One side of a look-alike pair (``which`` = its name) said in its own name words, or
        both sides in one query (``which`` = "both")."""
        meta = {"pair": [pair.first, pair.second]}
        if which == "both":
            order = [pair.first, pair.second]
            self.rng.shuffle(order)
            return self._calls_example([self._request(n, "name") for n in order], "confusable", **meta)
        return self._calls_example([self._request(which, "name")], "confusable", **meta)

    def no_call(self, sub: str | None = None) -> dict[str, Any]:
        rng = self.rng
        sub = sub or rng.choices([k for k, _ in NO_CALL_MIX], [w for _, w in NO_CALL_MIX])[0]
        if sub == "chit_chat":
            parts = self.no_calls.chit_chat(rng)
        elif sub == "near_miss":
            parts = self.no_calls.near_miss(rng, self.places)
        else:
            found = self.no_calls.foreign_tool(rng)
            if found is None:
                sub, parts = "chit_chat", self.no_calls.chit_chat(rng)
            elif found[0] == "catalogue":
                parts = catalogue_request(found[1], self.values).parts
            else:
                tool = found[1]
                parts = request_parts(tool.name, tool.schema, self.values)[0]
        parts, tags = augment(parts, rng, NOISE)
        return {"query": query_text(parts), "tools": self._tools(),
                "calls": [], "meta": {"kind": "no_call", "no_call": sub, "source": "synth", "augment": tags,
                                      "exempt": []}}


class _Collector:
    """Keeps valid examples with unseen queries; counts rejects by reason."""

    def __init__(self) -> None:
        self.examples: list[dict[str, Any]] = []
        self.seen: set[str] = set()
        self.rejected: dict[str, int] = {}

    def offer(self, example: dict[str, Any]) -> bool:
        try:
            validate_example(example)
        except Rejected as exc:
            self.rejected[exc.reason] = self.rejected.get(exc.reason, 0) + 1
            return False
        key = dedupe_key(example["query"])
        if key in self.seen:
            self.rejected["duplicate query"] = self.rejected.get("duplicate query", 0) + 1
            return False
        self.seen.add(key)
        self.examples.append(example)
        return True

    def fill(self, make, n: int, tries_per_example: int = 8) -> int:
        made = 0
        for _ in range(n * tries_per_example):
            if made >= n:
                break
            made += self.offer(make())
        return made


def synthesize(specs: list[ToolSpec], *, per_tool: int = 200, seed: int = 0, no_call_fraction: float = 0.15,
               parallel_fraction: float = 0.15) -> list[dict[str, Any]]:
    """Training examples for exactly these tools (see the module docstring for the kinds).

    ``per_tool`` single-call examples per tool, plus confusable-pair examples; parallel and
    no-call examples are added so that they make up about ``parallel_fraction`` and
    ``no_call_fraction`` of the result. Deterministic for a seed; the order is shuffled."""
    if not 0 <= no_call_fraction < 1 or not 0 <= parallel_fraction < 1 or no_call_fraction + parallel_fraction >= 1:
        raise ValueError("no_call_fraction and parallel_fraction must be in [0, 1) and sum to less than 1")
    synth = RegistrySynthesizer(specs, seed)
    out = _Collector()
    for name in synth.names:
        out.fill(lambda: synth.single(name), per_tool)
    per_side = max(2, per_tool // 10) if per_tool else 0
    for pair in synth.pairs:
        for which in (pair.first, pair.second):
            out.fill(lambda: synth.confusable(pair, which), per_side)
        out.fill(lambda: synth.confusable(pair, "both"), max(1, per_side // 2) if per_tool else 0)
    calls = len(out.examples)
    total = calls / (1 - no_call_fraction - parallel_fraction)
    out.fill(synth.parallel, round(total * parallel_fraction))
    out.fill(synth.no_call, round(total * no_call_fraction))
    synth.rng.shuffle(out.examples)
    return out.examples
