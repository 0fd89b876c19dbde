"""Needle's SentencePiece tokenizer: fixed special ids and the shipped model file.

>>> from needle_router.tokenizer import default_tokenizer, TOOLS_ID
>>> tok = default_tokenizer()
>>> ids = tok.encode("weather in Paris") + [TOOLS_ID]

The model file ``needle.model`` next to this module is produced by
``python -m needle_trainer.train_tokenizer`` (BPE, 8192 pieces, byte fallback, identity
normalisation, no dummy prefix, digits split one per token).
"""

from needle_router.tokenizer._tokenizer import (
    DEFAULT_MODEL_PATH,
    NeedleTokenizer,
    TokenizerError,
    default_tokenizer,
)
from needle_router.tokenizer.specials import (
    BOS_ID,
    CALL_ID,
    CONTROL_SYMBOLS,
    EOS_ID,
    FIRST_RESERVED_ID,
    LAST_RESERVED_ID,
    NO_CALL_ID,
    NUM_SPECIAL,
    PAD_ID,
    SPECIAL_TOKENS,
    TOOL_ID,
    TOOLS_ID,
    UNK_ID,
    VOCAB_SIZE,
)

__all__ = [
    "BOS_ID",
    "CALL_ID",
    "CONTROL_SYMBOLS",
    "DEFAULT_MODEL_PATH",
    "EOS_ID",
    "FIRST_RESERVED_ID",
    "LAST_RESERVED_ID",
    "NO_CALL_ID",
    "NUM_SPECIAL",
    "NeedleTokenizer",
    "PAD_ID",
    "SPECIAL_TOKENS",
    "TOOLS_ID",
    "TOOL_ID",
    "TokenizerError",
    "UNK_ID",
    "VOCAB_SIZE",
    "default_tokenizer",
]
