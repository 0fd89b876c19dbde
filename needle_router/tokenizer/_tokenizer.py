"""NeedleTokenizer: a thin, checked wrapper around a SentencePiece BPE model."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from needle_router.tokenizer.specials import (
    NUM_SPECIAL,
    SKIPPED_IDS,
    SPECIAL_TOKENS,
    UNK_ID,
    VOCAB_SIZE,
)

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "needle.model"

_SPACE_MARK = "\u2581"  # SentencePiece's whitespace symbol
_FIRST_BYTE_ID = NUM_SPECIAL  # byte pieces <0x00>..<0xFF> follow the special ids
# text that the loaded model must reproduce exactly (identity normalizer, no whitespace folding)
_ROUND_TRIP_PROBES = (
    "Hello, world!",
    "  two  spaces\tand a tab\nnew line ",
    'x{"k": [1, 2.5, -3e4]}',
    "caf\u00e9 \u65e5\u672c \U0001F600 \u0416",
)


class TokenizerError(ValueError):
    """The tokenizer model file is missing, unreadable or not a valid Needle tokenizer."""


def _load_processor(path: Path):
    import sentencepiece as spm

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TokenizerError(f"tokenizer model file not found: {path}") from None
    except OSError as exc:
        raise TokenizerError(f"cannot read tokenizer model file {path}: {exc}") from None
    if not data:
        raise TokenizerError(f"tokenizer model file {path} is empty")
    sp = spm.SentencePieceProcessor()
    try:
        sp.LoadFromSerializedProto(data)
    except Exception as exc:  # sentencepiece raises RuntimeError/OSError with terse messages
        raise TokenizerError(
            f"tokenizer model file {path} is not a valid SentencePiece model "
            f"({type(exc).__name__}: {exc})"
        ) from None
    if sp.get_piece_size() == 0:
        raise TokenizerError(f"tokenizer model file {path} has an empty vocabulary")
    return sp


def _validate(sp, path: Path) -> None:
    size = sp.get_piece_size()
    if size < _FIRST_BYTE_ID + 256:
        raise TokenizerError(
            f"tokenizer model file {path} has vocab size {size}, expected {VOCAB_SIZE}"
        )
    for piece, want in SPECIAL_TOKENS.items():
        got_piece = sp.id_to_piece(want)
        if got_piece != piece:
            raise TokenizerError(
                f"tokenizer model file {path} has piece {got_piece!r} at id {want}, "
                f"expected special token {piece!r}"
            )
        ok = sp.is_unknown(want) if want == UNK_ID else sp.is_control(want)
        if not ok:
            kind = "unknown" if want == UNK_ID else "control"
            raise TokenizerError(
                f"tokenizer model file {path}: special token {piece!r} (id {want}) "
                f"is not a {kind} symbol"
            )
    for b in range(256):
        i = _FIRST_BYTE_ID + b
        if not sp.is_byte(i) or sp.id_to_piece(i) != f"<0x{b:02X}>":
            raise TokenizerError(
                f"tokenizer model file {path} has no byte-fallback piece <0x{b:02X}> at id {i} "
                f"(found {sp.id_to_piece(i)!r}); train with byte_fallback=True"
            )
    if size != VOCAB_SIZE:
        raise TokenizerError(
            f"tokenizer model file {path} has vocab size {size}, expected {VOCAB_SIZE}"
        )
    first = sp.encode("hello", out_type=str)
    if first and first[0].startswith(_SPACE_MARK):
        raise TokenizerError(
            f"tokenizer model file {path} adds a dummy whitespace prefix; "
            "train with add_dummy_prefix=False"
        )
    for probe in _ROUND_TRIP_PROBES:
        back = sp.decode(sp.encode(probe))
        if back != probe:
            raise TokenizerError(
                f"tokenizer model file {path} does not round-trip text exactly "
                f"({probe!r} -> {back!r}); train with normalization_rule_name='identity' "
                "and remove_extra_whitespaces=False"
            )


class NeedleTokenizer:
    """SentencePiece BPE tokenizer with Needle's fixed special ids (see ``specials.py``).

    ``NeedleTokenizer()`` loads the shipped model ``needle_router/tokenizer/needle.model``;
    ``NeedleTokenizer(path)`` loads another file.  The file is checked on load: vocab size, the
    special-token table, byte fallback and exact round-trip.  Any problem raises
    :class:`TokenizerError` naming the file.

    ``encode`` never adds BOS/EOS and never produces special ids from text (the literal string
    ``"<|tools|>"`` encodes as ordinary pieces) unless ``allow_special=True``.
    ``decode(encode(s)) == s`` for every string ``s``: whitespace, newlines, tabs and any
    unicode character (via byte fallback) are preserved.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = Path(path) if path is not None else DEFAULT_MODEL_PATH
        sp = _load_processor(self._path)
        _validate(sp, self._path)
        self._sp = sp
        self._mark_ids = [_FIRST_BYTE_ID + b for b in _SPACE_MARK.encode("utf-8")]

    # -- basic properties -------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self._path

    @property
    def vocab_size(self) -> int:
        return VOCAB_SIZE

    @property
    def processor(self):
        """The underlying ``sentencepiece.SentencePieceProcessor`` (read-only use)."""
        return self._sp

    def __len__(self) -> int:
        return VOCAB_SIZE

    def __repr__(self) -> str:
        return f"NeedleTokenizer({str(self._path)!r})"

    # -- encoding ---------------------------------------------------------------------------
    def _encode_plain(self, text: str) -> list[int]:
        if _SPACE_MARK not in text:
            return self._sp.encode(text)
        # SentencePiece would turn a literal U+2581 into a space on decode; emit its UTF-8 bytes
        # as byte-fallback pieces instead so that the round trip stays exact.
        out: list[int] = []
        for k, part in enumerate(text.split(_SPACE_MARK)):
            if k:
                out.extend(self._mark_ids)
            if part:
                out.extend(self._sp.encode(part))
        return out

    def encode(self, text: str, *, allow_special: bool = False) -> list[int]:
        """Token ids for ``text``; no BOS/EOS added.

        With ``allow_special=True`` the literal special-token strings in ``text`` (``"<|call|>"``,
        ``"</s>"``, ...; everything in ``SPECIAL_TOKENS`` except ``<unk>``) become their ids.
        """
        if not isinstance(text, str):
            raise TypeError(f"encode() expects str, got {type(text).__name__}")
        if not allow_special:
            return self._encode_plain(text)
        out: list[int] = []
        for part in _SPECIAL_SPLIT.split(text):
            if not part:
                continue
            sid = _SPECIAL_BY_TEXT.get(part)
            if sid is not None:
                out.append(sid)
            else:
                out.extend(self._encode_plain(part))
        return out

    def encode_batch(self, texts: Iterable[str], *, allow_special: bool = False) -> list[list[int]]:
        texts = list(texts)
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"encode_batch() expects str items, got {type(t).__name__}")
        if allow_special or any(_SPACE_MARK in t for t in texts):
            return [self.encode(t, allow_special=allow_special) for t in texts]
        if not texts:
            return []
        return self._sp.encode(texts)

    def encode_pieces(self, text: str) -> list[str]:
        """Piece strings of ``encode(text)`` (``'\u2581'`` marks a space, ``'<0x0A>'`` a byte)."""
        return [self._sp.id_to_piece(i) for i in self.encode(text)]

    # -- decoding ---------------------------------------------------------------------------
    def _check_ids(self, ids: Sequence[int]) -> None:
        if ids and (min(ids) < 0 or max(ids) >= VOCAB_SIZE):
            bad = next(i for i in ids if i < 0 or i >= VOCAB_SIZE)
            raise ValueError(f"token id {bad} is out of range [0, {VOCAB_SIZE})")

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``; pad/bos/eos and the control ids 4..15 are dropped."""
        clean = [int(i) for i in ids]
        self._check_ids(clean)
        return self._sp.decode([i for i in clean if i not in SKIPPED_IDS])

    def decode_batch(self, batch: Iterable[Iterable[int]]) -> list[str]:
        return [self.decode(ids) for ids in batch]

    # -- vocabulary -------------------------------------------------------------------------
    def id_to_piece(self, id: int) -> str:
        id = int(id)
        self._check_ids([id])
        return self._sp.id_to_piece(id)

    def piece_to_id(self, piece: str) -> int:
        """Id of ``piece``; ``UNK_ID`` if the piece is not in the vocabulary."""
        return self._sp.piece_to_id(piece)

    def special_token_text(self, id: int) -> str:
        """The piece text of special id ``id`` (0..15), e.g. ``special_token_text(4) == '<|tools|>'``."""
        id = int(id)
        if not 0 <= id < NUM_SPECIAL:
            raise ValueError(f"id {id} is not a special token id (0..{NUM_SPECIAL - 1})")
        return self._sp.id_to_piece(id)

    def is_special(self, id: int) -> bool:
        return 0 <= int(id) < NUM_SPECIAL

    def is_byte(self, id: int) -> bool:
        return _FIRST_BYTE_ID <= int(id) < _FIRST_BYTE_ID + 256

    def token_bytes(self, id: int) -> bytes:
        """The bytes ``id`` contributes to decoded text (``b''`` for special ids)."""
        return self.vocab_bytes()[int(id)]

    def vocab_bytes(self) -> list[bytes]:
        """``token_bytes`` for every id, as a list indexed by id (computed once)."""
        cached = getattr(self, "_vocab_bytes", None)
        if cached is None:
            cached = []
            for i in range(VOCAB_SIZE):
                if i < NUM_SPECIAL:
                    cached.append(b"")
                elif self.is_byte(i):
                    cached.append(bytes([i - _FIRST_BYTE_ID]))
                else:
                    cached.append(self._sp.id_to_piece(i).replace(_SPACE_MARK, " ").encode("utf-8"))
            self._vocab_bytes = cached
        return cached


_SPECIAL_BY_TEXT = {p: i for p, i in SPECIAL_TOKENS.items() if i != UNK_ID}
_SPECIAL_SPLIT = re.compile(
    "(" + "|".join(re.escape(p) for p in sorted(_SPECIAL_BY_TEXT, key=len, reverse=True)) + ")"
)


@functools.lru_cache(maxsize=1)
def default_tokenizer() -> NeedleTokenizer:
    """The shipped tokenizer, loaded once per process."""
    return NeedleTokenizer()
