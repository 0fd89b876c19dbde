"""Train the Needle SentencePiece tokenizer and write the shipped model file.

    python -m needle_trainer.train_tokenizer [--out PATH] [--seed N] [--target-mb X]

Generates the offline corpus (:mod:`needle_trainer.tokenizer_corpus`) into a temporary file,
trains a BPE model with Needle's fixed special ids, checks it with
:class:`needle_router.tokenizer.NeedleTokenizer`, then atomically replaces ``--out``
(default: ``needle_router/tokenizer/needle.model``).  No ``.vocab`` file is written.

Settings that make ``decode(encode(s)) == s`` exact: identity normalisation, no whitespace
folding, no dummy prefix, byte fallback.  Digits are split one per token.  The special tokens
4..15 are SentencePiece *control* symbols (they never come out of encoding plain text).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

from needle_router.tokenizer import (
    BOS_ID,
    CONTROL_SYMBOLS,
    DEFAULT_MODEL_PATH,
    EOS_ID,
    PAD_ID,
    UNK_ID,
    VOCAB_SIZE,
    NeedleTokenizer,
)
from needle_trainer.tokenizer_corpus import write_corpus


def trainer_options(vocab_size: int = VOCAB_SIZE, num_threads: int = 2) -> dict:
    """The SentencePiece trainer settings of the Needle tokenizer (without input/output)."""
    return dict(
        model_type="bpe",
        vocab_size=vocab_size,
        character_coverage=0.9995,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=False,
        byte_fallback=True,
        split_digits=True,
        allow_whitespace_only_pieces=True,
        split_by_whitespace=True,
        max_sentencepiece_length=16,
        max_sentence_length=16384,
        pad_id=PAD_ID,
        unk_id=UNK_ID,
        bos_id=BOS_ID,
        eos_id=EOS_ID,
        pad_piece="<pad>",
        unk_piece="<unk>",
        bos_piece="<s>",
        eos_piece="</s>",
        control_symbols=list(CONTROL_SYMBOLS),
        input_sentence_size=2_000_000,
        shuffle_input_sentence=True,
        num_threads=num_threads,
        hard_vocab_limit=True,
        minloglevel=1,
    )


def train_model_bytes(corpus_path: str | os.PathLike[str], **overrides) -> bytes:
    """Train on a one-sentence-per-line file and return the serialized model."""
    import sentencepiece as spm

    opts = trainer_options()
    opts.update(overrides)
    buf = io.BytesIO()
    with open(corpus_path, encoding="utf-8", newline="\n") as f:
        # streamed (not input=path) so the temp path is not recorded in the model's trainer_spec
        # and the model file is byte-for-byte reproducible
        lines = (line.rstrip("\n") for line in f)
        spm.SentencePieceTrainer.train(sentence_iterator=lines, model_writer=buf, **opts)
    return buf.getvalue()


def write_model_atomically(data: bytes, out: Path, *, check: bool = True) -> None:
    """Write ``data`` next to ``out``, validate it as a Needle tokenizer, then ``os.replace``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if check:
            NeedleTokenizer(tmp)  # raises TokenizerError if the ids or settings are off
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


SAMPLE_QUERIES = [
    "What's the weather like in Paris tomorrow?",
    "Schedule a meeting with Anna Müller next Friday at 3pm about the Q3 budget",
    "Convert $1,234.50 to EUR",
    "Send a message to Jean-Luc saying \"running 10 minutes late\"",
    "Book a flight from JFK to CDG on 2024-05-17 for 2 people, business class",
    "Turn off the living room lights and set the thermostat to 21.5°C",
    "Deploy payments-api version v2.4.1 to staging with 3 replicas",
    "東京の明日の天気は？",
    "Wie wird das Wetter morgen in München?",
    '{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}',
]


def report(tok: NeedleTokenizer, texts: list[str] = SAMPLE_QUERIES) -> float:
    chars = sum(len(t) for t in texts)
    toks = sum(len(tok.encode(t)) for t in texts)
    return toks / chars


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m needle_trainer.train_tokenizer",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH,
                    help=f"model file to write (default: {DEFAULT_MODEL_PATH})")
    ap.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    ap.add_argument("--target-mb", type=float, default=12.0,
                    help="corpus size in MB of UTF-8 text (default 12)")
    ap.add_argument("--threads", type=int, default=2, help="SentencePiece trainer threads")
    ap.add_argument("--keep-corpus", type=Path, default=None,
                    help="also copy the generated corpus to this path")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="needle_tok_") as tmpdir:
        corpus = Path(tmpdir) / "corpus.txt"
        n_lines, n_bytes = write_corpus(corpus, seed=args.seed,
                                        target_bytes=int(args.target_mb * 1_000_000))
        t1 = time.perf_counter()
        print(f"corpus: {n_lines:,} lines, {n_bytes / 1e6:.2f} MB in {t1 - t0:.1f}s", flush=True)
        if args.keep_corpus is not None:
            args.keep_corpus.write_bytes(corpus.read_bytes())
        data = train_model_bytes(corpus, num_threads=args.threads)
        t2 = time.perf_counter()
        print(f"trained BPE vocab {VOCAB_SIZE} in {t2 - t1:.1f}s", flush=True)
    write_model_atomically(data, args.out)
    tok = NeedleTokenizer(args.out)
    print(f"wrote {args.out} ({len(data) / 1024:.0f} KiB); tokens/char on sample queries: "
          f"{report(tok):.3f}; total {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
