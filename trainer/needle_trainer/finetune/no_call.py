"""Queries no tool of the user's registry serves (the right answer is "no call").

Three kinds, so the model learns where the registry ends rather than "always call something":

* ``chit_chat``: small talk and general questions (``trainer/catalogue/general.yaml``);
* ``missing_tool``: real requests for tools the registry lacks: catalogue tools and procedurally
  invented tools whose subject words the registry never uses (so "set the bedroom fan to 3" is
  a no-call for a registry without fans, never for one with a fan tool);
* ``near_miss``: on-topic talk in the registry's own vocabulary that asks for no action
  ("how does the thermostat work?", "no need to cancel the order"), the catalogue's authored
  near-miss questions of the domains the registry resembles, and short commands whose verb no
  tool does, on the registry's own things ("vacuum the living room", "paint the door"): the
  counterweight to requests said by a verb and a value alone ("play jazz",
  :mod:`.paraphrase`), so that a known value does not mean "call".
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import yaml

from needle_trainer.data.catalogue import CatalogueTool, Domain
from needle_trainer.data.generate import NO_CALL_LEADS, NO_CALL_TAILS, Parts
from needle_trainer.data.generic import generic_tool
from needle_trainer.data.phrasing import words
from needle_trainer.finetune.hints import GENERIC_VERBS, tokens
from needle_trainer.finetune.templates import ToolProfile, name_action

GENERAL_FILE = Path(__file__).resolve().parents[2] / "catalogue" / "general.yaml"
GENERIC_TOOL_SPACE = 20_000

SUBJECT_TEMPLATES = (
    "how does the {obj} actually work?", "what is a {obj} anyway?", "why is my {obj} acting weird lately?",
    "who invented the {obj}?", "tell me a fun fact about {obj}", "is a good {obj} expensive?",
    "what's the history of the {obj}?", "i really like the new {obj}", "my friend won't stop talking about {obj}",
    "write a short poem about {obj}", "what's the difference between {obj} and {other}?",
    "do you think {obj} is overrated?", "explain {obj} to me like i'm five", "any tips for choosing a {obj}?",
    "what does {obj} mean exactly?", "is {obj} something most people use?", "what's a typical {obj} like?",
)
#: verbs for things people ask of a home, an office or a shop that a registry may lack; each is
#: used only where no tool's name, description or other verbs use the word
FOREIGN_VERBS = ("vacuum", "mop", "clean", "paint", "repair", "fix", "photograph", "film", "record", "measure",
                 "water", "feed", "sell", "print", "translate", "review", "rate", "insure", "wash", "dust",
                 "install", "replace", "inspect", "rename", "charge", "sweep", "decorate", "tidy", "polish",
                 "refill", "unplug", "reboot", "archive", "duplicate", "export", "share", "email", "invoice")
FOREIGN_TEMPLATES = ("{verb} the {noun}", "{verb} the {value} {noun}", "{verb} the {value}", "{verb} {value}",
                     "can you {verb} the {noun}?", "please {verb} the {value}", "{verb} the {noun} in {value}")
FOREIGN_TEMPLATES_WITHOUT_VALUE = tuple(t for t in FOREIGN_TEMPLATES if "{value}" not in t)
ACTION_TEMPLATES = (
    "how do i {act} myself, step by step?", "what does it mean to {act}?", "don't {act} yet, i'll tell you when",
    "no need to {act}, never mind", "what happens when you {act}?", "can you explain how to {act} without the app?",
    "i already managed to {act} on my own, thanks", "why would anyone {act}?", "did you know people {act} every day?",
    "who usually decides when to {act}?", "should i {act} or is that a bad idea?",
    "my boss wants me to {act}, i'll handle it myself",
)


def _frame(query: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        query = rng.choice(NO_CALL_LEADS) + query
    if rng.random() < 0.35:
        query = query.rstrip(" ?.!") + rng.choice(NO_CALL_TAILS)
    return query


def _subject(profile: ToolProfile) -> str:
    w = profile.name_words
    rest = [x for x in w[1:] if x not in ("on", "off", "to", "from", "for", "up", "down")]
    return " ".join(rest or w)


class NoCallSource:
    """Draws no-call queries for one registry; built once per synthesis."""

    def __init__(self, profiles: Sequence[ToolProfile], domains: Sequence[Domain]):
        self.profiles = list(profiles)
        vocab: set[str] = set()
        for p in profiles:
            vocab |= set(tokens(" ".join(p.name_words)))
            vocab |= {t for k in p.labels for t in tokens(words(k))}
            vocab |= set(tokens(p.spec.description))
        self.vocabulary = vocab - GENERIC_VERBS
        self.general = tuple(yaml.safe_load(GENERAL_FILE.read_text(encoding="utf-8"))["queries"])
        self.foreign_tools: list[CatalogueTool] = [
            t for d in domains for t in d.tools if not (set(tokens(words(t.name))) - GENERIC_VERBS) & self.vocabulary
            and t.name not in {p.spec.name for p in profiles}]
        own = {t for p in profiles for t in tokens(" ".join(p.name_words))} - GENERIC_VERBS
        self.near_miss_bank: list[str] = [
            q for d in domains
            if len(own & {t for tool in d.tools for t in tokens(words(tool.name))}) >= 2
            for q in d.no_call if not (set(tokens(q)) & own and _looks_actionable(q))]
        self.subjects = sorted({_subject(p) for p in profiles})
        taken = set(self.vocabulary) | {w for p in profiles for w in p.name_words}
        for p in profiles:
            if p.phrasing is not None:
                taken |= {w for a in p.phrasing.alternatives for w in a.split()}
        self.foreign_verbs = [v for v in FOREIGN_VERBS if v not in taken and not set(tokens(v)) & taken]

    def chit_chat(self, rng: random.Random) -> Parts:
        return [(_frame(rng.choice(self.general), rng), False)]

    def near_miss(self, rng: random.Random, values: Sequence[str] = ()) -> Parts:
        """``values``: texts of the registry's own place-like values ("living room"), for the
        commands whose verb no tool does."""
        if self.foreign_verbs and rng.random() < 0.3:
            template = rng.choice(FOREIGN_TEMPLATES if values else FOREIGN_TEMPLATES_WITHOUT_VALUE)
            query = template.format(verb=rng.choice(self.foreign_verbs), noun=rng.choice(self.subjects),
                                    value=rng.choice(values) if values else "")
            return [(_frame(query, rng), False)]
        if self.near_miss_bank and rng.random() < 0.3:
            return [(_frame(rng.choice(self.near_miss_bank), rng), False)]
        if rng.random() < 0.5:
            obj = rng.choice(self.subjects)
            other = rng.choice([s for s in self.subjects if s != obj] or ["something else"])
            query = rng.choice(SUBJECT_TEMPLATES).format(obj=obj, other=other)
        else:
            act = name_action(rng.choice(self.profiles).spec.name, rng)
            query = rng.choice(ACTION_TEMPLATES).format(act=act)
        return [(_frame(query, rng), False)]

    def foreign_tool(self, rng: random.Random) -> tuple[str, object] | None:
        """("catalogue", CatalogueTool) or ("generic", GenericTool) the registry has nothing like."""
        if self.foreign_tools and rng.random() < 0.8:
            return "catalogue", rng.choice(self.foreign_tools)
        for _ in range(20):
            tool = generic_tool(rng.randrange(GENERIC_TOOL_SPACE))
            if not (set(tokens(words(tool.name))) - GENERIC_VERBS) & self.vocabulary:
                return "generic", tool
        return None


def _looks_actionable(query: str) -> bool:
    """An authored near-miss that starts like a command could be servable by a user's tool: skip it."""
    first = query.split()[0].lower().strip(",.!?") if query.split() else ""
    return first in GENERIC_VERBS or first in ("turn", "switch", "book", "play", "start", "lock", "unlock")
