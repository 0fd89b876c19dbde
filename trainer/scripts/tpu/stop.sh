#!/usr/bin/env bash
# Stop the training processes on every worker of the TPU VM.
#
#   [TPU_NAME=...] [ZONE=...] [PROJECT=...] [STOP_WAIT=30] [DRY_RUN=1] trainer/scripts/tpu/stop.sh
#
# Sends SIGTERM to the process group recorded by launch.sh (logs/train.pid: the trainer and its
# data workers) and to any other `needle-router train` process, waits up to STOP_WAIT seconds,
# then SIGKILLs what is left, so that the TPU is free for the next launch. The run keeps its
# last saved checkpoint: continue it with launch.sh CONFIG --resume.
set -euo pipefail
source "${BASH_SOURCE[0]%/*}/common.sh"
require_gcloud

STOP_WAIT="${STOP_WAIT:-30}"
[[ "$STOP_WAIT" =~ ^[0-9]+$ ]] || die "STOP_WAIT must be a number of seconds"

# the pattern is written [n]eedle... so that it does not match this very command's shell
tpu_ssh all "pat='[n]eedle-router train'
pidfile=$(shell_quote "$REMOTE_PID")
group=''
if [ -f \"\$pidfile\" ]; then group=\$(cat \"\$pidfile\"); fi
alive() {
    { [ -n \"\$group\" ] && kill -0 -- -\"\$group\" 2>/dev/null; } || pgrep -f \"\$pat\" >/dev/null
}
if ! alive; then
    echo \"\$(hostname): no training process\"
    rm -f \"\$pidfile\"
    exit 0
fi
if [ -n \"\$group\" ]; then kill -TERM -- -\"\$group\" 2>/dev/null || true; fi
pkill -TERM -f \"\$pat\" || true
for _ in \$(seq $STOP_WAIT); do
    alive || break
    sleep 1
done
if alive; then
    echo \"\$(hostname): still running after ${STOP_WAIT}s, sending SIGKILL\"
    if [ -n \"\$group\" ]; then kill -KILL -- -\"\$group\" 2>/dev/null || true; fi
    pkill -KILL -f \"\$pat\" || true
fi
rm -f \"\$pidfile\"
echo \"\$(hostname): stopped\""
