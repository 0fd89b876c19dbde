#!/usr/bin/env bash
# Copy this repository to every worker of the TPU VM (into REMOTE_DIR, default ~/needle-router).
#
#   [TPU_NAME=...] [ZONE=...] [PROJECT=...] [REMOTE_DIR=needle-router] [DRY_RUN=1] trainer/scripts/tpu/sync.sh
#
# Sends the files git knows about (tracked, plus untracked ones that .gitignore does not exclude),
# as one tarball: never .git, runs/ or other ignored build and training outputs. Files deleted
# here stay on the workers (and so do their runs/ and logs/).
set -euo pipefail
source "${BASH_SOURCE[0]%/*}/common.sh"
require_gcloud

tarball_name="needle-router-sync.tar.gz"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
tarball="$tmp/$tarball_name"

# the tarball: existing files from `git ls-files`, runs/ left out even where .gitignore lacks it
echo "+ (cd $(shell_quote "$REPO_ROOT") && git ls-files -z --cached --others --exclude-standard" \
     "| grep -zv '^runs/' | tar --null -T - -czf $(shell_quote "$tarball"))"
if [ "$DRY_RUN" != 1 ]; then
    (
        cd "$REPO_ROOT"
        git ls-files -z --cached --others --exclude-standard \
            | { grep -zv '^runs/' || true; } \
            | while IFS= read -r -d '' f; do
                  if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
              done \
            | tar --null -T - -czf "$tarball"
    )
    echo "  $(du -h "$tarball" | cut -f1) in $(tar -tzf "$tarball" | wc -l) files"
fi

run gcloud compute tpus tpu-vm scp --recurse "$tarball" "$TPU_NAME:$tarball_name" \
    "${LOCATION_FLAGS[@]}" --worker=all ${EXTRA_SSH_FLAGS[@]+"${EXTRA_SSH_FLAGS[@]}"}
tpu_ssh all "set -e
mkdir -p $(shell_quote "$REMOTE_DIR")
tar -xzf $tarball_name -C $(shell_quote "$REMOTE_DIR")
rm -f $tarball_name"
