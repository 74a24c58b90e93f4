#!/bin/sh
# Builds helm (v3) from the Go module proxy into $CACHE/helm-<version>/bin/helm.
# Prints the bin dir on stdout; progress goes to stderr. Idempotent: a finished
# build is marked by a stamp file, so a second run returns at once. The wrapper Go
# module lives under $CACHE/helm-<version>/work, never in the repo.
# See test/harness/K8S-PROVISIONING.md.
#
# Overridable: HELM_VERSION, XDG_CACHE_HOME, GOTOOLCHAIN (default "local").
set -eu

HELM_VERSION="${HELM_VERSION:-v3.22.0}"

CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/rockset-sink-operator"
dest="$CACHE_DIR/helm-$HELM_VERSION"
bin="$dest/bin"
stamp="$dest/.complete"
want="helm=$HELM_VERSION"

is_done() {
  [ -f "$stamp" ] && [ -x "$bin/helm" ] || return 1
  IFS= read -r have <"$stamp" || return 1
  [ "$have" = "$want" ]
}
if is_done; then echo "$bin"; exit 0; fi

log() { echo "provision-helm: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
command -v go >/dev/null 2>&1 || die "the Go toolchain (go) is required"

mkdir -p "$bin" "$dest/work"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$dest/.lock"
  flock -n 9 || { log "another provisioning run holds $dest/.lock; waiting"; flock 9; }
  if is_done; then echo "$bin"; exit 0; fi
fi

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export CGO_ENABLED=0                       # as helm's Makefile (CGO_ENABLED ?= 0)
export GOFLAGS="-buildvcs=false"
unset GOOS GOARCH 2>/dev/null || true

w="$dest/work/helm"
if [ ! -f "$w/.ready" ] || [ "$(cat "$w/.ready")" != "$HELM_VERSION" ]; then
  log "preparing wrapper module for helm.sh/helm/v3@$HELM_VERSION in $w"
  rm -rf "$w"; mkdir -p "$w"
  gm=$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
  [ -n "$gm" ] && [ -f "$gm" ] || die "could not fetch helm.sh/helm/v3@$HELM_VERSION from the Go module proxy"
  (
    cd "$w"
    go mod init local/rockset-sink-operator-build >&2
    go_line=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$gm")
    if [ -n "$go_line" ]; then go mod edit -go="$go_line"; fi
    sed -n 's/^godebug \([^ ]*=[^ ]*\)$/\1/p' "$gm" | while read -r kv; do go mod edit -godebug="$kv"; done
    go get "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  )
  echo "$HELM_VERSION" >"$w/.ready"
fi

# helm's Makefile derives the default .Capabilities.KubeVersion (used by
# `helm template` / `helm lint`) from the k8s.io/client-go it is built with:
# client-go v0.X.Y -> Kubernetes 1.X.
client_go=$(cd "$w" && go list -m -f '{{.Version}}' k8s.io/client-go)
cg=${client_go#v0.}
kube_minor=${cg%%.*}
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags="$ldflags -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$kube_minor"
done

log "building helm $HELM_VERSION (client-go $client_go; nice 19, -p 1, GOMAXPROCS=1)"
t0=$(date +%s)
# GOMAXPROCS=1: with -p 1 the compiler otherwise uses GOMAXPROCS backend threads.
(cd "$w"; GOMAXPROCS=1 nice -n 19 go build -p 1 -trimpath -ldflags "$ldflags" -o "$bin/helm.tmp" helm.sh/helm/v3/cmd/helm >&2)
mv -f "$bin/helm.tmp" "$bin/helm"
log "built helm in $(( $(date +%s) - t0 ))s"

"$bin/helm" version --short 2>/dev/null | grep -q "^$HELM_VERSION" \
  || die "helm version does not report $HELM_VERSION: $("$bin/helm" version 2>&1)"
printf '%s\n' "$want" >"$stamp"
log "done: $want"
echo "$bin"
