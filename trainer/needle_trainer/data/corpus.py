"""Tokenizer training text from the data engine: what the model will actually read and write.

Each example contributes its query, the rendering of each tool (the encoder's text, format v1)
and each call's output text (``name{json}``), one per line. Mixed with the built-in corpus of
:mod:`needle_trainer.tokenizer_corpus` it retrains the shipped tokenizer with the same special ids.
"""

from __future__ import annotations

from collections.abc import Iterator

from needle_router.render import render_tool
from needle_trainer.data.stream import example_stream


def iter_engine_lines(seed: int, target_bytes: int, workers: int = 0) -> Iterator[str]:
    from needle_trainer.data.encode import Encoder

    encoder = Encoder()
    seen_tools: set[str] = set()
    total = 0
    for ex in example_stream(seed, "train", workers=workers):
        _, specs = encoder.specs(ex)
        by_name = {s.name: s for s in specs}
        lines = [ex["query"]]
        for spec in specs:
            if spec.name not in seen_tools:          # each tool once: the corpus is not all tools
                seen_tools.add(spec.name)
                lines.append(render_tool(spec))
        for call in ex["calls"]:
            spec = by_name[call["name"]]
            lines.append(encoder.call_text(spec.internal_name, call["arguments"], spec.parameters)[0])
        for line in lines:
            line = " ".join(line.splitlines())
            total += len(line.encode("utf-8")) + 1
            yield line
        if total >= target_bytes:
            return
