"""Fixed token ids of the Needle tokenizer.

These ids are part of the model format: the embedding table, the decoder's start token, the
grammar and the training data all refer to them by number, so they never change.  The shipped
SentencePiece model is checked against this table every time it is loaded.

Ids 0..3 are SentencePiece's own pad/unk/bos/eos.  Ids 4..15 are *control* symbols: they can
only be produced by inserting the id (or by ``encode(..., allow_special=True)``), never by
encoding ordinary user text, so a query that happens to contain the string ``<|tools|>`` cannot
inject a separator into the encoder input.
"""

from __future__ import annotations

VOCAB_SIZE = 8192

PAD_ID = 0
UNK_ID = 1
BOS_ID = 2
EOS_ID = 3
TOOLS_ID = 4  # separates the query from the tool block in the encoder input
TOOL_ID = 5  # starts each rendered tool
CALL_ID = 6  # starts each call in the decoder output
NO_CALL_ID = 7  # the explicit "no tool applies" answer

PAD = "<pad>"
UNK = "<unk>"
BOS = "<s>"
EOS = "</s>"
TOOLS = "<|tools|>"
TOOL = "<|tool|>"
CALL = "<|call|>"
NO_CALL = "<|no_call|>"

FIRST_RESERVED_ID = 8
LAST_RESERVED_ID = 15
NUM_SPECIAL = LAST_RESERVED_ID + 1  # ids 0..15 are special; byte pieces start right after

# piece text -> id, in id order (0..15)
SPECIAL_TOKENS: dict[str, int] = {
    PAD: PAD_ID,
    UNK: UNK_ID,
    BOS: BOS_ID,
    EOS: EOS_ID,
    TOOLS: TOOLS_ID,
    TOOL: TOOL_ID,
    CALL: CALL_ID,
    NO_CALL: NO_CALL_ID,
    **{f"<|reserved_{i}|>": i for i in range(FIRST_RESERVED_ID, LAST_RESERVED_ID + 1)},
}

# the control symbols given to the SentencePiece trainer, which assigns them ids 4, 5, ... in order
CONTROL_SYMBOLS: list[str] = [p for p, i in SPECIAL_TOKENS.items() if i >= TOOLS_ID]

# ids that decode() never renders
SKIPPED_IDS = frozenset(range(NUM_SPECIAL)) - {UNK_ID}

assert list(SPECIAL_TOKENS.values()) == list(range(NUM_SPECIAL))
assert len(CONTROL_SYMBOLS) == NUM_SPECIAL - TOOLS_ID
