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


def write_mixed_corpus(path: Path, seed: int, target_bytes: int, engine_share: float,
                       workers: int = 0) -> tuple[int, int]:
    """The built-in corpus plus ``engine_share`` of the bytes from the data engine's examples."""
    from needle_trainer.data.corpus import iter_engine_lines

    builtin_bytes = int(target_bytes * (1 - engine_share))
    lines, nbytes = write_corpus(path, seed=seed, target_bytes=builtin_bytes) if builtin_bytes else (0, 0)
    if engine_share > 0:
        with open(path, "a", encoding="utf-8", newline="\n") as f:
            for line in iter_engine_lines(seed, target_bytes - builtin_bytes, workers=workers):
                f.write(line + "\n")
                lines += 1
                nbytes += len(line.encode("utf-8")) + 1
    return lines, nbytes


def retrain(out: Path = DEFAULT_MODEL_PATH, *, seed: int = 0, target_mb: float = 12.0,
            engine_share: float = 0.5, threads: int = 2, workers: int = 0,
            keep_corpus: Path | None = None, log=print) -> NeedleTokenizer:
    """Generate a corpus, train the BPE model (same special ids) and atomically replace ``out``."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="needle_tok_") as tmpdir:
        corpus = Path(tmpdir) / "corpus.txt"
        n_lines, n_bytes = write_mixed_corpus(corpus, seed, int(target_mb * 1_000_000), engine_share, workers)
        t1 = time.perf_counter()
        log(f"corpus: {n_lines:,} lines, {n_bytes / 1e6:.2f} MB ({engine_share:.0%} from the data engine) "
            f"in {t1 - t0:.1f}s")
        if keep_corpus is not None:
            keep_corpus.write_bytes(corpus.read_bytes())
        data = train_model_bytes(corpus, num_threads=threads)
        t2 = time.perf_counter()
        log(f"trained BPE vocab {VOCAB_SIZE} in {t2 - t1:.1f}s")
    write_model_atomically(data, out)
    tok = NeedleTokenizer(out)
    log(f"wrote {out} ({len(data) / 1024:.0f} KiB); tokens/char on sample queries: "
        f"{report(tok):.3f}; total {time.perf_counter() - t0:.1f}s")
    return tok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m needle_trainer.train_tokenizer",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH,
                    help=f"model file to write (default: {DEFAULT_MODEL_PATH})")
    ap.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    ap.add_argument("--target-mb", type=float, default=12.0,
                    help="corpus size in MB of UTF-8 text (default 12)")
    ap.add_argument("--engine-share", type=float, default=0.0,
                    help="share of the corpus taken from the data engine's examples (default 0)")
    ap.add_argument("--threads", type=int, default=2, help="SentencePiece trainer threads")
    ap.add_argument("--keep-corpus", type=Path, default=None,
                    help="also copy the generated corpus to this path")
    args = ap.parse_args(argv)
    retrain(args.out, seed=args.seed, target_mb=args.target_mb, engine_share=args.engine_share,
            threads=args.threads, keep_corpus=args.keep_corpus)
    return 0


if __name__ == "__main__":
    sys.exit(main())
