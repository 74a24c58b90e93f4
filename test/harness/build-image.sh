#!/bin/sh
# Builds the project image from ./Dockerfile, unchanged, without a Docker daemon or a
# registry: buildah (chroot isolation, host network) on the local base image that
# provision-node.sh made (NODE_IMAGE=localhost/rso-node:24-bookworm), then saves it
# as a docker archive for `ctr images import`.
#
# Cached by a hash of every input (the Dockerfile, .dockerignore, the files the
# build context lets in, the base image): a warm run with unchanged sources only
# hashes. Prints one line: `<image ref> <archive path>`. Needs root.
#   sh test/harness/build-image.sh            # build (or reuse) and print
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/rockset-sink-operator"
BASE=localhost/rso-node:24-bookworm

log() { echo "build-image: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

node_dir=$(sh "$here/provision-node.sh" images | tail -n1)
[ -f "$node_dir/images/base.tar" ] || die "provision-node.sh images gave no base image"
. "$here/containers-env.sh"

cd "$repo"
# What the build context holds: the paths .dockerignore lets in (it denies
# everything else), each file's content, plus the base image archive's identity.
context=$(sed -n 's|^!\(.*\)$|\1|p' .dockerignore | sed 's|/$||')
[ -n "$context" ] || die "no allowed paths in .dockerignore"
# shellcheck disable=SC2086
key=$( {
  sha256sum Dockerfile .dockerignore
  find $context -type f -print0 | sort -z | xargs -0 sha256sum
  stat -c '%s %Y' "$node_dir/images/base.tar"
} | sha256sum | cut -c1-16)
version=$(node -p 'require("./package.json").version' 2>/dev/null || sed -n 's/^ *"version": "\(.*\)",$/\1/p' package.json)
ref="localhost/rockset-sink-operator:$version-$key"
out="$CACHE_DIR/image"
tar="$out/rockset-sink-operator-$key.tar"
if [ -f "$tar" ]; then echo "$ref $tar"; exit 0; fi

mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
if [ -f "$tar" ]; then echo "$ref $tar"; exit 0; fi

buildah inspect --type image "$BASE" >/dev/null 2>&1 || buildah pull --quiet "docker-archive:$node_dir/images/base.tar" >/dev/null

# npm ci in the build stages must trust what this machine trusts (a TLS-inspecting
# egress proxy adds its own CA): the host's bundle and an npmrc naming it are
# mounted for RUN steps only, so neither ends up in any image layer that ships.
ca=""
for f in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
  if [ -f "$f" ]; then ca=$f; break; fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
vols=""
if [ -n "$ca" ]; then
  printf 'cafile=/run/host-ca.crt\nupdate-notifier=false\n' >"$tmp/npmrc"
  vols="--volume $ca:/run/host-ca.crt:ro --volume $tmp/npmrc:/usr/local/etc/npmrc:ro"
fi

log "buildah bud -t $ref (NODE_IMAGE=$BASE)"
t0=$(date +%s)
# shellcheck disable=SC2086
buildah bud --quiet --layers --isolation chroot --network host $vols \
  --build-arg NODE_IMAGE="$BASE" -t "$ref" -f Dockerfile . >&2
rm -f "$tar.tmp"
buildah push --quiet "$ref" "docker-archive:$tar.tmp:$ref" >&2
mv -f "$tar.tmp" "$tar"
log "built $ref in $(( $(date +%s) - t0 ))s ($(du -m "$tar" | cut -f1) MB archive)"

# keep one archive and one tag: older builds only take disk
for f in "$out"/rockset-sink-operator-*.tar; do
  [ "$f" = "$tar" ] || rm -f "$f"
done
buildah images --format '{{.Name}}:{{.Tag}}' 2>/dev/null | grep '^localhost/rockset-sink-operator:' | grep -vx "$ref" \
  | while read -r old; do buildah rmi "$old" >/dev/null 2>&1 || true; done
# --layers keeps every build's intermediate images as the next build's cache; past a
# few GB drop the untagged ones (the next build then runs npm ci again)
used_kb=$(du -sk "${XDG_CACHE_HOME:-$HOME/.cache}/rockset-sink-operator/containers/storage" 2>/dev/null | cut -f1)
if [ "${used_kb:-0}" -gt $((6 * 1024 * 1024)) ]; then
  log "image store over 6 GB: removing untagged images"
  buildah rmi --prune >/dev/null 2>&1 || true
fi
echo "$ref $tar"
