"""Tests for the Needle tokenizer: fixed ids, exact round trips, load-time checks, corpus."""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

import needle_router.tokenizer as tokmod
from needle_router.tokenizer import (
    BOS_ID,
    CALL_ID,
    DEFAULT_MODEL_PATH,
    EOS_ID,
    NO_CALL_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    TOOL_ID,
    TOOLS_ID,
    UNK_ID,
    VOCAB_SIZE,
    NeedleTokenizer,
    TokenizerError,
    default_tokenizer,
)
from needle_router.tokenizer import _tokenizer as impl


@pytest.fixture(scope="module")
def tok() -> NeedleTokenizer:
    return default_tokenizer()


# --------------------------------------------------------------------------------------------
# fixed ids
# --------------------------------------------------------------------------------------------

def test_constants():
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
    assert (TOOLS_ID, TOOL_ID, CALL_ID, NO_CALL_ID) == (4, 5, 6, 7)
    assert VOCAB_SIZE == 8192
    assert SPECIAL_TOKENS["<pad>"] == 0 and SPECIAL_TOKENS["<unk>"] == 1
    assert SPECIAL_TOKENS["<s>"] == 2 and SPECIAL_TOKENS["</s>"] == 3
    assert SPECIAL_TOKENS["<|tools|>"] == 4 and SPECIAL_TOKENS["<|tool|>"] == 5
    assert SPECIAL_TOKENS["<|call|>"] == 6 and SPECIAL_TOKENS["<|no_call|>"] == 7
    for i in range(8, 16):
        assert SPECIAL_TOKENS[f"<|reserved_{i}|>"] == i
    assert sorted(SPECIAL_TOKENS.values()) == list(range(16))


def test_shipped_model_ids(tok):
    assert tok.path == DEFAULT_MODEL_PATH
    assert DEFAULT_MODEL_PATH.name == "needle.model"
    assert DEFAULT_MODEL_PATH.parent == Path(tokmod.__file__).resolve().parent
    assert tok.vocab_size == VOCAB_SIZE == len(tok) == tok.processor.get_piece_size()
    for piece, i in SPECIAL_TOKENS.items():
        assert tok.id_to_piece(i) == piece
        assert tok.piece_to_id(piece) == i
        assert tok.special_token_text(i) == piece
        assert tok.is_special(i)
    assert not tok.is_special(16)
    with pytest.raises(ValueError):
        tok.special_token_text(100)


def test_default_tokenizer_cached():
    assert default_tokenizer() is default_tokenizer()


def test_no_vocab_file_shipped():
    assert not list(DEFAULT_MODEL_PATH.parent.glob("*.vocab"))


# --------------------------------------------------------------------------------------------
# round trips
# --------------------------------------------------------------------------------------------

ROUND_TRIP = [
    "",
    "a",
    "What's the weather like in Paris tomorrow?",
    "Book a flight from JFK to CDG on 2024-05-17 for 2 people",
    "Convert $1,234.50 to EUR (or 1.234,50 €) — 3k, twenty, 0.5, -7e-3",
    "Crème brûlée à la française, Ærøskøbing, Straße, Ελληνικά, Русский, עברית, العربية",
    "東京の明日の天気は？ 北京 서울 날씨",
    "emoji 😀🎉👍🏽 🇫🇷 👨‍👩‍👧",
    "multiple   spaces  here",
    " leading space",
    "   leading spaces",
    "trailing space ",
    "trailing spaces   ",
    "  ",
    " ",
    "tab\tseparated\tvalues",
    "line one\nline two\n",
    "\n",
    "\n\nblank lines\n\n",
    "windows\r\nline end",
    "    def f(x):\n        return x  # indented code",
    '{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}',
    '[{"name":"a.b","arguments":{"x":[1,2.5,-3],"y":null,"z":true}}]',
    "get_weather(city='Paris', unit=\"celsius\") -> dict",
    "path C:\\Users\\Ana\\file.txt and /usr/local/bin",
    "literal \u2581 lower-eighth block (sentencepiece space mark) \u2581\u2581x",
    "zero\u200bwidth and nbsp\u00a0and ideographic\u3000space",
    "combining e\u0301 and precomposed \u00e9",  # identity normalisation: both kept
    "control \x00 \x07 \x1b[0m chars",
    "<|tools|> <|call|> </s> <s> <pad> <unk> in user text",
    "12345678901234567890",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_round_trip(tok, text):
    ids = tok.encode(text)
    assert all(isinstance(i, int) for i in ids)
    assert all(0 <= i < VOCAB_SIZE for i in ids)
    assert tok.decode(ids) == text


def test_round_trip_batch(tok):
    batch = tok.encode_batch(ROUND_TRIP)
    assert batch == [tok.encode(t) for t in ROUND_TRIP]
    assert tok.decode_batch(batch) == ROUND_TRIP
    assert tok.encode_batch([]) == []


def test_concatenation_decodes_to_concatenation(tok):
    # no dummy prefix: encoding pieces separately and joining ids is exact
    parts = ["What's the weather", " in Paris", "?", "\n", '{"city": "Paris"}']
    ids = list(itertools.chain.from_iterable(tok.encode(p) for p in parts))
    assert tok.decode(ids) == "".join(parts)


def test_no_bos_eos_added(tok):
    ids = tok.encode("hello world")
    assert BOS_ID not in ids and EOS_ID not in ids and PAD_ID not in ids


def test_decode_skips_special_ids(tok):
    text = "turn on the lights"
    ids = tok.encode(text)
    noisy = [BOS_ID, CALL_ID] + ids + [NO_CALL_ID, TOOLS_ID, TOOL_ID, 9, 15, EOS_ID, PAD_ID, PAD_ID]
    assert tok.decode(noisy) == text
    import numpy as np

    assert tok.decode(np.array([BOS_ID] + ids + [EOS_ID], dtype=np.int32)) == text


def test_decode_rejects_out_of_range(tok):
    with pytest.raises(ValueError):
        tok.decode([VOCAB_SIZE])
    with pytest.raises(ValueError):
        tok.decode([-1])


def test_specials_not_produced_from_text(tok):
    for piece, i in SPECIAL_TOKENS.items():
        ids = tok.encode(piece)
        assert all(j >= 16 for j in ids), piece
        assert tok.decode(ids) == piece


def test_allow_special(tok):
    ids = tok.encode("weather in Paris<|tools|><|tool|>get_weather", allow_special=True)
    assert ids.count(TOOLS_ID) == 1 and ids.count(TOOL_ID) == 1
    k = ids.index(TOOLS_ID)
    assert ids[:k] == tok.encode("weather in Paris")
    assert ids[k + 2:] == tok.encode("get_weather")
    assert tok.encode("<|call|>x</s>", allow_special=True) == [CALL_ID] + tok.encode("x") + [EOS_ID]
    # <unk> is never mapped
    assert UNK_ID not in tok.encode("<unk>", allow_special=True)


def test_byte_fallback_for_unseen_characters(tok):
    for ch in ["\ue000", "\U00013000", "\U0001FAE8", "\u2f00"]:  # private use, hieroglyph, ...
        ids = tok.encode(ch)
        assert ids, ch
        assert all(tok.is_byte(i) for i in ids), (ch, ids)
        assert len(ids) == len(ch.encode("utf-8"))
        assert b"".join(tok.token_bytes(i) for i in ids) == ch.encode("utf-8")
        assert tok.decode(ids) == ch
    assert UNK_ID not in tok.encode("\ue000 \U00013000 x")


def test_newline_and_tab_are_single_byte_tokens(tok):
    assert tok.encode("\n") == [tok.piece_to_id("<0x0A>")]
    assert tok.encode("\t") == [tok.piece_to_id("<0x09>")]


def test_digits_split(tok):
    pieces = tok.encode_pieces("Order 12345 costs 2024.50")
    for p in pieces:
        digits = [c for c in p if c.isdigit()]
        assert len(digits) <= 1, pieces
        if digits:
            assert p == digits[0], pieces
    assert [tok.id_to_piece(i) for i in tok.encode("9876")] == ["9", "8", "7", "6"]


def test_token_bytes_match_decode(tok):
    text = 'Schedule "Q3 review" with Zoë at 15:30 → 東京 🚀'
    ids = tok.encode(text)
    assert b"".join(tok.token_bytes(i) for i in ids).decode("utf-8") == text
    vb = tok.vocab_bytes()
    assert len(vb) == VOCAB_SIZE and all(vb[i] == b"" for i in range(16))


def test_compact_on_queries(tok):
    # sanity bound, not a benchmark: ordinary English needs well under 1 token per 2 chars
    q = "Schedule a meeting with Anna next Friday at 3pm about the quarterly budget review"
    assert len(tok.encode(q)) / len(q) < 0.4


# --------------------------------------------------------------------------------------------
# load-time checks
# --------------------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    path = tmp_path / "nope.model"
    with pytest.raises(TokenizerError) as e:
        NeedleTokenizer(path)
    assert str(path) in str(e.value) and "not found" in str(e.value)


def test_corrupt_file(tmp_path):
    path = tmp_path / "garbage.model"
    path.write_bytes(os.urandom(64) + b"\xff\xfe not a protobuf \x00\x01" * 20)
    with pytest.raises(TokenizerError) as e:
        NeedleTokenizer(path)
    assert str(path) in str(e.value)
    assert isinstance(e.value, ValueError)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.model"
    path.write_bytes(b"")
    with pytest.raises(TokenizerError, match="empty"):
        NeedleTokenizer(path)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(TokenizerError) as e:
        NeedleTokenizer(tmp_path)
    assert str(tmp_path) in str(e.value)


_TINY_LINES = [
    "what is the weather in paris today",
    "send a message to anna saying hello",
    '{"name": "get_weather", "arguments": {"city": "Paris"}}',
    "book a table for 2 at 7pm",
] * 30


def _tiny_model(tmp_path, name: str, **overrides) -> str:
    import sentencepiece as spm
    from needle_trainer.train_tokenizer import trainer_options

    opts = trainer_options(vocab_size=400, num_threads=1)
    opts.update(hard_vocab_limit=False, minloglevel=2)
    opts.update(overrides)
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(_TINY_LINES), model_writer=buf, **opts)
    path = tmp_path / name
    path.write_bytes(buf.getvalue())
    return str(path)


def test_tiny_model_with_right_settings_passes_every_check_but_size(tmp_path, monkeypatch):
    path = _tiny_model(tmp_path, "tiny.model")
    with pytest.raises(TokenizerError, match="vocab size") as e:
        NeedleTokenizer(path)
    assert path in str(e.value)
    import sentencepiece as spm

    size = spm.SentencePieceProcessor(model_file=path).get_piece_size()
    monkeypatch.setattr(impl, "VOCAB_SIZE", size)
    t = NeedleTokenizer(path)  # all other checks pass with the trainer's settings
    assert t.decode(t.encode("weather in Zürich 😀\n")) == "weather in Zürich 😀\n"


def test_wrong_special_ids_rejected(tmp_path):
    from needle_router.tokenizer import CONTROL_SYMBOLS

    swapped = list(CONTROL_SYMBOLS)
    swapped[0], swapped[2] = swapped[2], swapped[0]  # <|call|> at 4, <|tools|> at 6
    path = _tiny_model(tmp_path, "swapped.model", control_symbols=swapped)
    with pytest.raises(TokenizerError) as e:
        NeedleTokenizer(path)
    msg = str(e.value)
    assert path in msg and "id 4" in msg and "<|tools|>" in msg


def test_user_defined_instead_of_control_rejected(tmp_path):
    from needle_router.tokenizer import CONTROL_SYMBOLS

    path = _tiny_model(tmp_path, "userdef.model", control_symbols=[],
                       user_defined_symbols=list(CONTROL_SYMBOLS))
    with pytest.raises(TokenizerError, match="control"):
        NeedleTokenizer(path)


def test_default_sentencepiece_ids_rejected(tmp_path):
    # sentencepiece defaults: unk=0, bos=1, eos=2, no pad
    path = _tiny_model(tmp_path, "defaults.model", pad_id=-1, unk_id=0, bos_id=1, eos_id=2)
    with pytest.raises(TokenizerError, match="id 0"):
        NeedleTokenizer(path)


@pytest.mark.parametrize(
    "overrides, match",
    [
        (dict(add_dummy_prefix=True), "dummy"),
        (dict(remove_extra_whitespaces=True), "round-trip"),
    ],
)
def test_non_exact_settings_rejected(tmp_path, monkeypatch, overrides, match):
    import sentencepiece as spm

    path = _tiny_model(tmp_path, "bad.model", **overrides)
    monkeypatch.setattr(impl, "VOCAB_SIZE", spm.SentencePieceProcessor(model_file=path).get_piece_size())
    with pytest.raises(TokenizerError, match=match):
        NeedleTokenizer(path)


def test_no_byte_fallback_rejected(tmp_path):
    path = _tiny_model(tmp_path, "nobytes.model", byte_fallback=False)
    with pytest.raises(TokenizerError):
        NeedleTokenizer(path)


def test_atomic_write_keeps_old_file_on_bad_model(tmp_path):
    from needle_trainer.train_tokenizer import write_model_atomically

    out = tmp_path / "needle.model"
    good = DEFAULT_MODEL_PATH.read_bytes()
    write_model_atomically(good, out)
    assert out.read_bytes() == good
    with pytest.raises(TokenizerError):
        write_model_atomically(b"garbage" * 100, out)
    assert out.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["needle.model"]


# --------------------------------------------------------------------------------------------
# corpus generator
# --------------------------------------------------------------------------------------------

def _head(seed: int, n: int = 200) -> list[str]:
    from needle_trainer.tokenizer_corpus import iter_corpus_lines

    return list(itertools.islice(iter_corpus_lines(seed=seed, target_bytes=10_000_000), n))


def test_corpus_deterministic():
    a, b = _head(0), _head(0)
    assert a == b and len(a) == 200
    assert _head(1) != a
    assert all(line and "\n" not in line and "\r" not in line for line in a)


def test_corpus_deterministic_across_hash_seeds():
    """Same lines in a fresh interpreter with another PYTHONHASHSEED (no set-order leaks)."""
    code = (
        "import hashlib, itertools\n"
        "from needle_trainer.tokenizer_corpus import iter_corpus_lines\n"
        "h = hashlib.sha256()\n"
        "for l in itertools.islice(iter_corpus_lines(seed=0, target_bytes=10_000_000), 300):\n"
        "    h.update(l.encode() + b'\\n')\n"
        "print(h.hexdigest())\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.strip()
    h = hashlib.sha256()
    for line in _head(0, 300):
        h.update(line.encode() + b"\n")
    assert out == h.hexdigest()


def test_corpus_respects_target_bytes():
    from needle_trainer.tokenizer_corpus import iter_corpus_lines

    lines = list(iter_corpus_lines(seed=3, target_bytes=50_000))
    total = sum(len(x.encode()) + 1 for x in lines)
    assert 50_000 <= total < 50_000 + 4 * 3000


def test_number_words():
    from needle_trainer.tokenizer_corpus import number_words

    assert number_words(0) == "zero"
    assert number_words(25) == "twenty-five"
    assert number_words(304) == "three hundred and four"
    assert number_words(12_005) == "twelve thousand and five"
