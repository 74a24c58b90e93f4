#!/bin/sh
# Provisions a real Kubernetes node for the pod tests (test/pods), with no Docker
# daemon and no container registry:
#   - Debian packages: containerd, runc, buildah, mmdebstrap, the CNI plugins, iptables
#   - $CACHE/node-<k8s version>/bin/kubelet   built from the Go module proxy like
#                                             provision-k8s.sh builds the control plane
#   - $CACHE/node-<k8s version>/images/pause.tar   a locally built pause image
#                                             (localhost/rso-pause:1), the sandbox image
#   - $CACHE/node-<k8s version>/images/base.tar    the Node base image for ./Dockerfile
#                                             (localhost/rso-node:24-bookworm): a
#                                             minimal Debian bookworm rootfs from
#                                             mmdebstrap + the cached Node 24 binary +
#                                             npm + user node (uid 1000)
# The project image itself is built from ./Dockerfile by build-image.sh (keyed by
# its inputs). Prints the node dir on stdout; progress goes to stderr. Idempotent
# (per-piece stamps) and resumable like provision-k8s.sh. Needs root.
#
# `provision-node.sh images` provisions the packages and images only (no kubelet):
# enough for build-image.sh, and it can run while the kubelet builds.
#
# Overridable: K8S_VERSION, XDG_CACHE_HOME, GOTOOLCHAIN (default "local"),
# K8S_BUILD_JOBS (packages built in parallel, default 1).
set -eu

K8S_VERSION="${K8S_VERSION:-v1.35.4}"
NPM_VERSION="${NPM_VERSION:-11}"
DEBIAN_SUITE=bookworm

here=$(cd "$(dirname "$0")" && pwd)
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/rockset-sink-operator"
dest="$CACHE_DIR/node-$K8S_VERSION"
bin="$dest/bin"
images="$dest/images"
stamp="$dest/.complete"
BASE_VERSION="node24-$DEBIAN_SUITE-slim-npm$NPM_VERSION"
want="kubelet=$K8S_VERSION pause=1 base=$BASE_VERSION"
PACKAGES="containerd runc buildah mmdebstrap containernetworking-plugins iptables"

log() { echo "provision-node: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

packages_missing() {
  _m=""
  for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || _m="$_m $p"
  done
  echo "$_m"
}

base_done() { [ -f "$images/base.tar" ] && [ "$(cat "$images/.base.version" 2>/dev/null)" = "$BASE_VERSION" ]; }
is_done() {
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] || return 1
  [ -x "$bin/kubelet" ] && [ -f "$images/pause.tar" ] && base_done || return 1
  [ -z "$(packages_missing)" ]
}
only="${1:-all}"
if [ "$only" = images ]; then
  is_done() { [ -f "$images/pause.tar" ] && base_done && [ -z "$(packages_missing)" ]; }
fi
if is_done; then echo "$dest"; exit 0; fi

[ "$(id -u)" = 0 ] || die "a real node (containerd, kubelet, mounts, cgroups) needs root"
mkdir -p "$bin" "$images" "$dest/work"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$dest/.lock.$only"
  flock -n 9 || { log "another provisioning run holds $dest/.lock; waiting"; flock 9; }
  if is_done; then echo "$dest"; exit 0; fi
fi

# ------------------------------------------------------------------ packages
missing=$(packages_missing)
if [ -n "$missing" ]; then
  log "apt-get install$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >&2
fi

# ------------------------------------------------------------------- kubelet
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export CGO_ENABLED=0
export GOFLAGS="-buildvcs=false"
unset GOOS GOARCH 2>/dev/null || true
jobs="${K8S_BUILD_JOBS:-1}"

if [ "$only" != images ] && ! { [ -x "$bin/kubelet" ] && [ "$(cat "$bin/.kubelet.version" 2>/dev/null)" = "$K8S_VERSION" ]; }; then
  command -v go >/dev/null 2>&1 || die "the Go toolchain (go) is required"
  w="$dest/work/kubelet"
  if [ "$(cat "$w/.ready" 2>/dev/null)" != "$K8S_VERSION" ]; then
    log "preparing wrapper module for k8s.io/kubernetes/cmd/kubelet@$K8S_VERSION in $w"
    rm -rf "$w"; mkdir -p "$w"
    gm=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
    [ -n "$gm" ] && [ -f "$gm" ] || die "could not fetch k8s.io/kubernetes@$K8S_VERSION from the Go module proxy"
    staging_version="v0.${K8S_VERSION#v1.}"
    staging=$(awk '/=> *\.\/staging\/src\//{ for (i = 1; i <= NF; i++) if ($i == "=>") print $(i-1) }' "$gm")
    [ -n "$staging" ] || die "found no staging replace directives in $gm"
    (
      cd "$w"
      go mod init local/rockset-sink-operator-node >&2
      # the same go and godebug lines as k8s.io/kubernetes (GODEBUG defaults of an upstream build)
      _go=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$gm")
      [ -z "$_go" ] || go mod edit -go="$_go"
      sed -n 's/^godebug \([^ ]*=[^ ]*\)$/\1/p' "$gm" | while read -r kv; do go mod edit -godebug="$kv"; done
      # staging modules are replaced by ./staging/src/k8s.io/X upstream; use their published tags
      for m in $staging; do go mod edit -replace="$m=$m@$staging_version"; done
      log "go get k8s.io/kubernetes/cmd/kubelet@$K8S_VERSION (no tidy)"
      go get "k8s.io/kubernetes/cmd/kubelet@$K8S_VERSION" >&2
    )
    echo "$K8S_VERSION" >"$w/.ready"
  fi
  k8s_minor_ver=${K8S_VERSION#v1.}
  ldflags="-s -w"
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags="$ldflags -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=${k8s_minor_ver%%.*} -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  log "building kubelet (nice 19, -p $jobs, GOMAXPROCS=$jobs; shares Go's build cache with the control plane)"
  t0=$(date +%s)
  (cd "$w" && GOMAXPROCS=$jobs nice -n 19 go build -p "$jobs" -trimpath -tags selinux,notest,grpcnotrace \
    -ldflags "$ldflags" -o "$bin/kubelet.tmp" k8s.io/kubernetes/cmd/kubelet >&2)
  mv -f "$bin/kubelet.tmp" "$bin/kubelet"
  echo "$K8S_VERSION" >"$bin/.kubelet.version"
  log "built kubelet in $(( $(date +%s) - t0 ))s"
fi
if [ "$only" != images ] && ! "$bin/kubelet" --version 2>&1 | grep -q "Kubernetes $K8S_VERSION\$"; then
  die "kubelet --version does not report $K8S_VERSION: $("$bin/kubelet" --version 2>&1)"
fi

# buildah's storage lives in the cache too (not /var/lib/containers): one place to clean
. "$here/containers-env.sh"

# -------------------------------------------------------------- pause image
# The sandbox image every pod starts with. Upstream's is C; this one does the same
# job (sleep until SIGINT/SIGTERM, reap orphans) and needs only Go.
if [ ! -f "$images/pause.tar" ]; then
  log "building the pause image"
  pw="$dest/work/pause"
  rm -rf "$pw"; mkdir -p "$pw"
  cat >"$pw/main.go" <<'EOF'
// pause: the infrastructure container of a pod. Holds its namespaces, reaps orphans.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s == syscall.SIGCHLD {
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
EOF
  (cd "$pw" && go mod init local/pause >&2 && go build -trimpath -ldflags "-s -w" -o pause . >&2)
  c=$(buildah from scratch)
  buildah copy "$c" "$pw/pause" /pause >/dev/null
  buildah config --entrypoint '["/pause"]' --user 65535:65535 "$c"
  buildah commit --quiet "$c" localhost/rso-pause:1 >/dev/null
  buildah rm "$c" >/dev/null
  rm -f "$images/pause.tar.tmp"
  buildah push --quiet localhost/rso-pause:1 "docker-archive:$images/pause.tar.tmp:localhost/rso-pause:1" >&2
  mv -f "$images/pause.tar.tmp" "$images/pause.tar"
fi

# --------------------------------------------------------------- base image
# What ./Dockerfile's NODE_IMAGE (node:24-slim) provides, built without a registry:
# Debian bookworm minbase, Node 24 (the binary scripts/env.sh caches from npm's
# node@24 package), npm (that package has none), user node (1000:1000).
if ! base_done; then
  . "$here/../../scripts/env.sh"
  ensure_node
  node_bin=$(node -p 'process.execPath')
  bw="$dest/work/base"
  rm -rf "$bw"; mkdir -p "$bw"
  log "npm pack npm@$NPM_VERSION"
  (cd "$bw" && npm pack --silent "npm@$NPM_VERSION" >npm-tgz.name)
  npm_tgz="$bw/$(tail -n1 "$bw/npm-tgz.name")"
  [ -f "$npm_tgz" ] || die "npm pack npm@$NPM_VERSION gave no tarball"
  # the host's apt sources (same mirror and snapshot as the machine's packages)
  mirror=/etc/apt/sources.list.d/debian.sources
  [ -f "$mirror" ] || mirror=/etc/apt/sources.list
  log "mmdebstrap --variant=minbase $DEBIAN_SUITE (~30 s)"
  t0=$(date +%s)
  # like debian:bookworm-slim (node:24-slim's base): no docs, man pages or translations (~48 MB)
  mmdebstrap --quiet --variant=minbase --format=tar \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --customize-hook="cp '$node_bin' \"\$1/usr/local/bin/node\"" \
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules/npm\" && tar -xzf '$npm_tgz' -C \"\$1/usr/local/lib/node_modules/npm\" --strip-components=1 && ln -s ../lib/node_modules/npm/bin/npm-cli.js \"\$1/usr/local/bin/npm\" && ln -s ../lib/node_modules/npm/bin/npx-cli.js \"\$1/usr/local/bin/npx\"" \
    --customize-hook="chroot \"\$1\" groupadd --gid 1000 node && chroot \"\$1\" useradd --uid 1000 --gid node --shell /bin/bash --create-home node" \
    --customize-hook="rm -rf \"\$1/var/lib/apt/lists\"/* \"\$1/var/cache/apt\"/*.bin" \
    "$DEBIAN_SUITE" "$bw/rootfs.tar" "$mirror" >&2
  log "rootfs in $(( $(date +%s) - t0 ))s"
  c=$(buildah from scratch)
  buildah add "$c" "$bw/rootfs.tar" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$(node -p 'process.versions.node')" --cmd '["node"]' "$c"
  buildah commit --quiet "$c" localhost/rso-node:24-bookworm >/dev/null
  buildah rm "$c" >/dev/null
  rm -f "$images/base.tar.tmp"
  buildah push --quiet localhost/rso-node:24-bookworm "docker-archive:$images/base.tar.tmp:localhost/rso-node:24-bookworm" >&2
  mv -f "$images/base.tar.tmp" "$images/base.tar"
  echo "$BASE_VERSION" >"$images/.base.version"
  rm -rf "$bw"
fi

[ "$only" = images ] || printf '%s\n' "$want" >"$stamp"
log "done: $want"
echo "$dest"
