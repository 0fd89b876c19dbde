#!/usr/bin/env bash
# Create the TPU VM slice (all its workers) that the other scripts use.
#
#   [TPU_NAME=needle-tpu] [ZONE=us-west4-a] [ACCELERATOR_TYPE=v5litepod-16] [RUNTIME_VERSION=...] \
#   [PROJECT=...] [SPOT=1 | PREEMPTIBLE=1] [DRY_RUN=1] trainer/scripts/tpu/create.sh [extra gcloud flags]
#
# SPOT=1 asks for a Spot slice (--spot), PREEMPTIBLE=1 for an older-style preemptible one
# (--preemptible); both are cheaper and can be taken back at any time. Extra arguments go to
# `gcloud compute tpus tpu-vm create` unchanged (e.g. --network=..., --reserved).
# Next: trainer/scripts/tpu/setup.sh
set -euo pipefail
source "${BASH_SOURCE[0]%/*}/common.sh"
require_gcloud

flags=()
if [ "${SPOT:-0}" = 1 ] && [ "${PREEMPTIBLE:-0}" = 1 ]; then
    die "set SPOT=1 or PREEMPTIBLE=1, not both"
elif [ "${SPOT:-0}" = 1 ]; then
    flags+=(--spot)
elif [ "${PREEMPTIBLE:-0}" = 1 ]; then
    flags+=(--preemptible)
fi

run gcloud compute tpus tpu-vm create "$TPU_NAME" "${LOCATION_FLAGS[@]}" \
    "--accelerator-type=$ACCELERATOR_TYPE" "--version=$RUNTIME_VERSION" \
    ${flags[@]+"${flags[@]}"} "$@"
