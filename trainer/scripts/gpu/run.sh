#!/usr/bin/env bash
# Train needle-26m on one GPU for a fixed time, with no network.
#
#   trainer/scripts/gpu/run.sh --minutes 9 --out OUT [--resume-from DIR] [--config needle-26m]
#
# Data is generated on all CPU cores but two while the GPU trains; the run stops cleanly before
# the time is up and writes OUT/checkpoint (safetensors shards <= 16 MB: pass it back with
# --resume-from), OUT/weights (best checkpoint, INT4), OUT/summary.json, OUT/log.jsonl, OUT/curves.png.
# Needs: jax with CUDA, flax, optax, orbax-checkpoint, and this repository's Python dependencies
# (pydantic, sentencepiece, safetensors, faker, pyyaml, click, rich); wheels for missing ones can be
# installed from a local folder first: WHEELS=/path/to/wheels trainer/scripts/gpu/run.sh ...
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$ROOT"
if [ -n "${WHEELS:-}" ] && [ -d "$WHEELS" ]; then
    python3 -m pip install --no-index --find-links "$WHEELS" --quiet "$WHEELS"/*.whl || true
fi
export PYTHONPATH="$ROOT:$ROOT/integrations:$ROOT/trainer${PYTHONPATH:+:$PYTHONPATH}"
export XLA_PYTHON_CLIENT_PREALLOCATE=false
exec python3 -m needle_trainer.launch "$@"
