#!/usr/bin/env bash
# Install the trainer on every worker of the TPU VM: copies the repository there (sync.sh), then
# installs it with its training extras and jax[tpu] (one pip command, so jax and libtpu match).
#
#   [TPU_NAME=...] [ZONE=...] [PROJECT=...] [SKIP_SYNC=1] [DRY_RUN=1] trainer/scripts/tpu/setup.sh
#
# SKIP_SYNC=1: the code is already on the workers (in REMOTE_DIR), only install.
# JAX_TPU: the jax requirement to install [jax[tpu]], e.g. "jax[tpu]==0.6.2".
# The install is editable (pip install -e), so after a code change sync.sh is enough.
# Next: trainer/scripts/tpu/launch.sh CONFIG
set -euo pipefail
source "${BASH_SOURCE[0]%/*}/common.sh"
require_gcloud

JAX_TPU="${JAX_TPU:-jax[tpu]}"
if [ "${SKIP_SYNC:-0}" != 1 ]; then
    "$TPU_SCRIPTS/sync.sh"
fi

tpu_ssh all "set -e
cd $(shell_quote "$REMOTE_DIR")
python3 -m pip install --upgrade pip
python3 -m pip install -e '.[train,harvest]' $(shell_quote "$JAX_TPU") \\
    -f https://storage.googleapis.com/jax-releases/libtpu_releases.html
export PATH=\"\$HOME/.local/bin:\$PATH\"
needle-router --help >/dev/null
python3 -c 'import jax; print(\"process\", jax.process_index(), \"of\", jax.process_count(), jax.local_device_count(), \"local devices of\", jax.device_count(), jax.devices()[0].device_kind)'"
