#!/bin/sh
# Builds a real Kubernetes control plane for tests from the Go module proxy
# (no dl.k8s.io, no GitHub, no container engine needed):
#   $CACHE/k8s-<version>/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl,etcd,kwok}
#   $CACHE/k8s-<version>/share/kwok.yaml   (kwok config with the default "fast" stages)
# Prints the bin dir on stdout; progress goes to stderr. Idempotent: a finished
# build is marked by a stamp file naming all versions, so a second run returns at
# once. An interrupted run resumes: each binary has its own stamp, and Go's module
# and build caches (in $HOME) keep what was already fetched and compiled. A binary
# added to BINS later (kubectl) makes the fast path fail on a cache stamped before
# it, so that run builds only the new binary and stamps again.
# The wrapper Go modules used for the builds live under $CACHE/k8s-<version>/work,
# never in the repo. See test/harness/K8S-PROVISIONING.md.
#
# Overridable: K8S_VERSION, ETCD_VERSION, KWOK_VERSION, XDG_CACHE_HOME,
# GOTOOLCHAIN (default "local"; set go1.27.3 only for versions needing Go 1.27).
set -eu

K8S_VERSION="${K8S_VERSION:-v1.35.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"

CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/rockset-sink-operator"
dest="$CACHE_DIR/k8s-$K8S_VERSION"
bin="$dest/bin"
stamp="$dest/.complete"
want="kubernetes=$K8S_VERSION etcd=$ETCD_VERSION kwok=$KWOK_VERSION"
K8S_CMDS="kube-apiserver kube-controller-manager kube-scheduler kubectl"
BINS="$K8S_CMDS etcd kwok"

# Fast path: no forks, no go command.
is_done() {
  [ -f "$stamp" ] || return 1
  IFS= read -r have <"$stamp" || return 1
  [ "$have" = "$want" ] || return 1
  for b in $BINS; do [ -x "$bin/$b" ] || return 1; done
  [ -f "$dest/share/kwok.yaml" ]
}
if is_done; then echo "$bin"; exit 0; fi

log() { echo "provision-k8s: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
command -v go >/dev/null 2>&1 || die "the Go toolchain (go) is required"

mkdir -p "$bin" "$dest/work"
# Serialise concurrent runs (a developer and CI on the same machine).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$dest/.lock"
  flock -n 9 || { log "another provisioning run holds $dest/.lock; waiting"; flock 9; }
  if is_done; then echo "$bin"; exit 0; fi
fi

# Go settings: never switch toolchains behind our back (etcd's go.mod names
# toolchain go1.26.10, which would otherwise be fetched), static binaries, no VCS
# stamping, and ignore a GOFLAGS from the caller (e.g. -mod=vendor).
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export CGO_ENABLED=0
export GOFLAGS="-buildvcs=false"
unset GOOS GOARCH 2>/dev/null || true

# Be gentle with a 2-core machine shared with others: one package at a time, and
# GOMAXPROCS=1 because with -p 1 the compiler otherwise uses GOMAXPROCS backend
# threads per package (cmd/go gcBackendConcurrency).
# CI has the machine to itself: K8S_BUILD_JOBS=<n> (as .ci/run sets) builds n packages at a time.
jobs="${K8S_BUILD_JOBS:-1}"
gobuild() { # gobuild OUT_NAME PACKAGE TAGS LDFLAGS  (run inside the wrapper module)
  _out="$bin/$1"
  log "building $1 from $2 (nice 19, -p $jobs, GOMAXPROCS=$jobs; this is the slow part)"
  _t0=$(date +%s)
  GOMAXPROCS=$jobs nice -n 19 go build -p "$jobs" -trimpath -tags "$3" -ldflags "$4" -o "$_out.tmp" "$2" >&2
  mv -f "$_out.tmp" "$_out"
  log "built $1 in $(( $(date +%s) - _t0 ))s"
}

built() { # built NAME VERSION: is bin/NAME present and built from VERSION?
  [ -x "$bin/$1" ] && [ -f "$bin/.$1.version" ] && [ "$(cat "$bin/.$1.version")" = "$2" ]
}
mark() { printf '%s\n' "$2" >"$bin/.$1.version"; }

# gomod_of MODULE@VERSION: path of that module's go.mod in the module cache.
gomod_of() {
  go mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p'
}

# new_wrapper DIR MODULE@VERSION: a fresh wrapper module whose go and godebug
# lines copy the built module's (so GODEBUG defaults match an upstream build).
new_wrapper() {
  rm -rf "$1"; mkdir -p "$1"
  _gm=$(gomod_of "$2")
  [ -n "$_gm" ] && [ -f "$_gm" ] || die "could not fetch $2 from the Go module proxy"
  (
    cd "$1"
    go mod init local/rockset-sink-operator-build >&2
    _go=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$_gm")
    if [ -n "$_go" ]; then go mod edit -go="$_go"; fi
    sed -n 's/^godebug \([^ ]*=[^ ]*\)$/\1/p' "$_gm" | while read -r kv; do go mod edit -godebug="$kv"; done
  )
}

# ---------------------------------------------------------------- kubernetes
k8s_minor_ver=${K8S_VERSION#v1.}              # 35.4
staging_version="v0.$k8s_minor_ver"          # v0.35.4: the staging modules' tag
k8s_major=1
k8s_minor=${k8s_minor_ver%%.*}               # 35
k8s_tags="selinux,notest,grpcnotrace"        # as hack/lib/golang.sh (non-debug)
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
k8s_ldflags="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  k8s_ldflags="$k8s_ldflags -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$k8s_major -X $pkg.gitMinor=$k8s_minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

need_k8s=""
for b in $K8S_CMDS; do
  built "$b" "$K8S_VERSION" || need_k8s="$need_k8s $b"
done
if [ -n "$need_k8s" ]; then
  w="$dest/work/kubernetes"
  if [ ! -f "$w/.ready" ] || [ "$(cat "$w/.ready")" != "$K8S_VERSION" ]; then
    log "preparing wrapper module for k8s.io/kubernetes@$K8S_VERSION in $w"
    new_wrapper "$w" "k8s.io/kubernetes@$K8S_VERSION"
    gm=$(gomod_of "k8s.io/kubernetes@$K8S_VERSION")
    # k8s.io/kubernetes replaces its staging modules with ./staging/src/k8s.io/X,
    # which `go install pkg@version` refuses; point each at its published v0.x tag.
    staging=$(awk '/=> *\.\/staging\/src\//{ for (i = 1; i <= NF; i++) if ($i == "=>") print $(i-1) }' "$gm")
    [ -n "$staging" ] || die "found no staging replace directives in $gm"
    (
      cd "$w"
      for m in $staging; do go mod edit -replace="$m=$m@$staging_version"; done
      log "go get k8s.io/kubernetes@$K8S_VERSION commands (downloads the dependency graph; no tidy)"
      _pkgs=""
      for b in $K8S_CMDS; do _pkgs="$_pkgs k8s.io/kubernetes/cmd/$b@$K8S_VERSION"; done
      # shellcheck disable=SC2086
      go get $_pkgs >&2
    )
    echo "$K8S_VERSION" >"$w/.ready"
    printf '%s\n' $K8S_CMDS >"$w/.cmds"
  fi
  # A wrapper prepared before a command joined K8S_CMDS lacks that command's
  # go.sum entries (a wrapper with no .cmds predates kubectl): `go get` just the
  # missing ones, which leaves the versions the built binaries used unchanged.
  [ -f "$w/.cmds" ] || printf '%s\n' kube-apiserver kube-controller-manager kube-scheduler >"$w/.cmds"
  for b in $need_k8s; do
    if ! grep -qx "$b" "$w/.cmds"; then
      log "go get k8s.io/kubernetes/cmd/$b@$K8S_VERSION into the existing wrapper"
      (cd "$w" && go get "k8s.io/kubernetes/cmd/$b@$K8S_VERSION" >&2)
      echo "$b" >>"$w/.cmds"
    fi
  done
  for b in $need_k8s; do
    (cd "$w"; gobuild "$b" "k8s.io/kubernetes/cmd/$b" "$k8s_tags" "$k8s_ldflags")
    mark "$b" "$K8S_VERSION"
  done
fi

# ---------------------------------------------------------------------- etcd
if ! built etcd "$ETCD_VERSION"; then
  w="$dest/work/etcd"
  if [ ! -f "$w/.ready" ] || [ "$(cat "$w/.ready")" != "$ETCD_VERSION" ]; then
    log "preparing wrapper module for go.etcd.io/etcd/server/v3@$ETCD_VERSION in $w"
    new_wrapper "$w" "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    (cd "$w" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2)
    echo "$ETCD_VERSION" >"$w/.ready"
  fi
  # The etcd server binary is the main package at the module root (server/main.go).
  (cd "$w"; gobuild etcd go.etcd.io/etcd/server/v3 "" "-s -w")
  mark etcd "$ETCD_VERSION"
fi

# ---------------------------------------------------------------------- kwok
if ! built kwok "$KWOK_VERSION"; then
  w="$dest/work/kwok"
  if [ ! -f "$w/.ready" ] || [ "$(cat "$w/.ready")" != "$KWOK_VERSION" ]; then
    log "preparing wrapper module for sigs.k8s.io/kwok@$KWOK_VERSION in $w"
    new_wrapper "$w" "sigs.k8s.io/kwok@$KWOK_VERSION"
    (cd "$w" && go get "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2)
    echo "$KWOK_VERSION" >"$w/.ready"
  fi
  (cd "$w"; gobuild kwok sigs.k8s.io/kwok/cmd/kwok "" "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}")
  mark kwok "$KWOK_VERSION"
fi

# kwok has no built-in stages: without a config naming some it exits with "no
# stages found". kwokctl's default set ("fast": node-initialize,
# node-heartbeat-with-lease, pod-ready/complete/delete) ships as YAML in the kwok
# module; gather it into one config file: `kwok -c $dest/share/kwok.yaml ...`.
# The lease heartbeat keeps fake nodes Ready (needs --node-lease-duration-seconds).
kwok_src=$(cd "$dest/work/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
[ -d "$kwok_src/kustomize/stage" ] || die "kwok stage YAML not found in $kwok_src"
mkdir -p "$dest/share"
# Stages only, no KwokConfiguration document: kwok applies its option defaults
# (parallelism 4, ...) only when the config has none; an explicit `options: {}`
# leaves them 0 and kwok exits with "node leases parallelism must be greater than 0".
{
  sep=""
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    printf '%s' "$sep"; sep='---
'
    cat "$kwok_src/kustomize/stage/$f"
  done
} >"$dest/share/kwok.yaml.tmp"
mv -f "$dest/share/kwok.yaml.tmp" "$dest/share/kwok.yaml"

# ------------------------------------------------------------------- verify
"$bin/kube-apiserver" --version 2>&1 | grep -q "Kubernetes $K8S_VERSION\$" \
  || die "kube-apiserver --version does not report $K8S_VERSION: $("$bin/kube-apiserver" --version 2>&1)"
"$bin/etcd" --version 2>&1 | grep -q "etcd Version: ${ETCD_VERSION#v}\$" \
  || die "etcd --version does not report ${ETCD_VERSION#v}: $("$bin/etcd" --version 2>&1)"
"$bin/kwok" --version >/dev/null 2>&1 || die "kwok --version failed"
"$bin/kubectl" version --client 2>&1 | grep -q "Client Version: $K8S_VERSION\$" \
  || die "kubectl version --client does not report $K8S_VERSION: $("$bin/kubectl" version --client 2>&1)"

printf '%s\n' "$want" >"$stamp"
log "done: $want"
echo "$bin"
