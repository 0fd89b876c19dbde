#!/usr/bin/env bash
# Show (and follow) the training log of one worker of the TPU VM, worker 0 by default.
#
#   [TPU_NAME=...] [ZONE=...] [PROJECT=...] [LOG_WORKER=0] [TAIL_LINES=100] [FOLLOW=0] [DRY_RUN=1] \
#   trainer/scripts/tpu/logs.sh
#
# Tails REMOTE_DIR/logs/train.log (the latest run from launch.sh); FOLLOW=0 prints and exits.
# Ctrl-C stops following; training goes on.
set -euo pipefail
source "${BASH_SOURCE[0]%/*}/common.sh"
require_gcloud

LOG_WORKER="${LOG_WORKER:-0}"
TAIL_LINES="${TAIL_LINES:-100}"
[[ "$TAIL_LINES" =~ ^[0-9]+$ ]] || die "TAIL_LINES must be a number"
follow="-F"
if [ "${FOLLOW:-1}" = 0 ]; then
    follow=""
fi
tpu_ssh "$LOG_WORKER" "tail -n $TAIL_LINES $follow $(shell_quote "$REMOTE_LOG")"
