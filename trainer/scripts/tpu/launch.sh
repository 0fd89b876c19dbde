#!/usr/bin/env bash
# Start training on every worker of the TPU VM: the same command on all of them, in the background.
#
#   [TPU_NAME=...] [ZONE=...] [PROJECT=...] [TRAIN_ENV="XLA_FLAGS=... FOO=1"] [DRY_RUN=1] \
#   trainer/scripts/tpu/launch.sh CONFIG [extra `needle-router train` arguments]
#
#   e.g. trainer/scripts/tpu/launch.sh needle-26m --minutes 120
#        trainer/scripts/tpu/launch.sh needle-26m --resume          # continue the run in runs/needle-26m
#
# Each worker runs `NEEDLE_DISTRIBUTED=1 needle-router train --config CONFIG ...` from REMOTE_DIR
# under nohup (jax.distributed.initialize() finds the other workers by itself on a TPU VM), writes
# its own log REMOTE_DIR/logs/train-<time>.log (logs/train.log points to the latest) and the process
# id to logs/train.pid (for stop.sh). Refuses to start where a run from launch.sh is still going.
# Relative paths (CONFIG files, --out) are relative to REMOTE_DIR on the workers.
# Follow it with logs.sh; end it with stop.sh.
set -euo pipefail
source "${BASH_SOURCE[0]%/*}/common.sh"

if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
fi
require_gcloud

config="$1"
shift
stamp="$(date -u +%Y%m%d-%H%M%S)"
log="logs/train-$stamp.log"
train_env=()
read -r -a train_env <<< "${TRAIN_ENV:-}"
for assignment in ${train_env[@]+"${train_env[@]}"}; do
    [[ "$assignment" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "TRAIN_ENV: '$assignment' is not NAME=VALUE"
done
train_cmd="$(quote_args needle-router train --config "$config" "$@")"

tpu_ssh all "set -e
cd $(shell_quote "$REMOTE_DIR")
mkdir -p logs
if [ -f logs/train.pid ] && kill -0 \"\$(cat logs/train.pid)\" 2>/dev/null; then
    echo \"\$(hostname): a run is still going (pid \$(cat logs/train.pid)): stop it first (stop.sh)\" >&2
    exit 1
fi
export PATH=\"\$HOME/.local/bin:\$PATH\" NEEDLE_DISTRIBUTED=1${TRAIN_ENV:+ $(quote_args "${train_env[@]}")}
ln -sfn train-$stamp.log logs/train.log
nohup setsid $train_cmd > $log 2>&1 < /dev/null &
echo \$! > logs/train.pid
echo \"\$(hostname): started pid \$!, log $REMOTE_DIR_SHOWN/$log\""

ssh_flags="$(quote_args "${LOCATION_FLAGS[@]}" ${EXTRA_SSH_FLAGS[@]+"${EXTRA_SSH_FLAGS[@]}"})"
cat <<MSG

Follow worker 0's log:  TPU_NAME=$TPU_NAME ZONE=$ZONE${PROJECT:+ PROJECT=$PROJECT} $TPU_SCRIPTS/logs.sh
  (the same:  gcloud compute tpus tpu-vm ssh $TPU_NAME $ssh_flags --worker=0 --command='tail -F $REMOTE_LOG')
Stop it on all workers: TPU_NAME=$TPU_NAME ZONE=$ZONE${PROJECT:+ PROJECT=$PROJECT} $TPU_SCRIPTS/stop.sh
MSG
