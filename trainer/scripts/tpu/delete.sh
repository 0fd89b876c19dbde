#!/usr/bin/env bash
# Delete the TPU VM (all workers, their disks and everything on them: copy results off first).
#
#   [TPU_NAME=...] [ZONE=...] [PROJECT=...] [YES=1] [DRY_RUN=1] trainer/scripts/tpu/delete.sh
#
# Asks for confirmation (type "y") unless YES=1; refuses when no answer can be read (no terminal,
# closed stdin).
set -euo pipefail
source "${BASH_SOURCE[0]%/*}/common.sh"
require_gcloud

if [ "${YES:-0}" != 1 ]; then
    printf 'Delete TPU VM %s in zone %s%s? This cannot be undone. [y/N] ' \
        "$TPU_NAME" "$ZONE" "${PROJECT:+ (project $PROJECT)}" >&2
    answer=""
    if ! read -r answer 2>/dev/null; then
        echo >&2
        die "no confirmation (stdin closed); not deleting. Set YES=1 to delete without asking."
    fi
    case "$answer" in
        y|Y|yes|YES|Yes) ;;
        *) die "not confirmed; not deleting" ;;
    esac
fi

run gcloud compute tpus tpu-vm delete "$TPU_NAME" "${LOCATION_FLAGS[@]}" --quiet
