# Shared settings and helpers for the TPU-pod launchers; sourced by the other scripts, not run.
#
#   source "$(dirname "$0")/common.sh"
#
# Settings (environment variables, defaults in brackets):
#   TPU_NAME          name of the TPU VM                                  [needle-tpu]
#   ZONE              zone of the TPU VM                                  [us-west4-a]
#   ACCELERATOR_TYPE  slice type, e.g. v5litepod-16, v4-16, v6e-8         [v5litepod-16]
#   RUNTIME_VERSION   TPU VM software version    [from ACCELERATOR_TYPE: v2-alpha-tpuv5-lite,
#                     v2-alpha-tpuv5 (v5p), v2-alpha-tpuv6e (v6e), tpu-ubuntu2204-base (others)]
#   PROJECT           Google Cloud project (optional: gcloud's default project when empty)
#   REMOTE_DIR        repository folder on every worker, relative to the home folder [needle-router]
#   SSH_FLAGS         extra flags for every `gcloud ... ssh/scp`, e.g. "--internal-ip"
#   DRY_RUN=1         only print the commands (prefixed with "+ "), run nothing
# shellcheck shell=bash

TPU_NAME="${TPU_NAME:-needle-tpu}"
ZONE="${ZONE:-us-west4-a}"
ACCELERATOR_TYPE="${ACCELERATOR_TYPE:-v5litepod-16}"
if [ -z "${RUNTIME_VERSION:-}" ]; then
    case "$ACCELERATOR_TYPE" in
        v5litepod-*|v5e-*) RUNTIME_VERSION="v2-alpha-tpuv5-lite" ;;
        v5p-*)             RUNTIME_VERSION="v2-alpha-tpuv5" ;;
        v6e-*)             RUNTIME_VERSION="v2-alpha-tpuv6e" ;;
        *)                 RUNTIME_VERSION="tpu-ubuntu2204-base" ;;
    esac
fi
PROJECT="${PROJECT:-}"
REMOTE_DIR="${REMOTE_DIR:-needle-router}"
DRY_RUN="${DRY_RUN:-0}"
# on every worker: where launch.sh writes the log and the process id of the run
REMOTE_LOG="$REMOTE_DIR/logs/train.log"
REMOTE_PID="$REMOTE_DIR/logs/train.pid"
case "$REMOTE_DIR" in
    /*) REMOTE_DIR_SHOWN="$REMOTE_DIR" ;;
    *)  REMOTE_DIR_SHOWN="~/$REMOTE_DIR" ;;
esac

TPU_SCRIPTS="$(cd "${BASH_SOURCE[0]%/*}" && pwd)"
REPO_ROOT="${REPO_ROOT:-$(cd "$TPU_SCRIPTS/../../.." && pwd)}"

die() {
    echo "error: $*" >&2
    exit 1
}

for _var in TPU_NAME ZONE ACCELERATOR_TYPE RUNTIME_VERSION REMOTE_DIR; do
    [ -n "${!_var}" ] || die "$_var is empty"
done
unset _var
[[ "$REMOTE_DIR" =~ ^[A-Za-z0-9_./-]+$ ]] \
    || die "REMOTE_DIR may only hold letters, digits and _ . / - (a path relative to the home folder, or absolute)"

# Quote one word so that a shell reads it back unchanged (plain words stay as they are).
shell_quote() {
    case "$1" in
        "" ) printf "''" ;;
        *[!A-Za-z0-9_@%+=:,./-]*) printf "'%s'" "${1//\'/\'\\\'\'}" ;;
        *) printf '%s' "$1" ;;
    esac
}

# Quote all arguments into one command line.
quote_args() {
    local out="" word
    for word in "$@"; do
        out+="${out:+ }$(shell_quote "$word")"
    done
    printf '%s' "$out"
}

# Print a command as "+ cmd args..." and run it, unless DRY_RUN=1.
run() {
    echo "+ $(quote_args "$@")"
    if [ "$DRY_RUN" != 1 ]; then
        "$@"
    fi
}

require_gcloud() {
    if [ "$DRY_RUN" != 1 ] && ! command -v gcloud >/dev/null 2>&1; then
        die "gcloud not found: install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install)" \
            "and run 'gcloud auth login', or set DRY_RUN=1 to only print the commands"
    fi
}

# Flags every gcloud tpu-vm command takes: zone and (optional) project.
LOCATION_FLAGS=("--zone=$ZONE")
if [ -n "$PROJECT" ]; then
    LOCATION_FLAGS+=("--project=$PROJECT")
fi
read -r -a EXTRA_SSH_FLAGS <<< "${SSH_FLAGS:-}"

# Run a shell command on TPU workers: tpu_ssh WORKER COMMAND (WORKER: all, 0, 1, ... or 0,2).
tpu_ssh() {
    run gcloud compute tpus tpu-vm ssh "$TPU_NAME" "${LOCATION_FLAGS[@]}" "--worker=$1" \
        ${EXTRA_SSH_FLAGS[@]+"${EXTRA_SSH_FLAGS[@]}"} "--command=$2"
}
