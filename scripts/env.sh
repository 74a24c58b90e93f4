# Sourced by the project's shell entry points: the shared cache location and a
# Node >= 24 on PATH (the machine's own node may be older; npm's `node@24`
# package ships the official binary, so it comes from the npm registry).
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/rockset-sink-operator"
export ROCKSET_SINK_CACHE="$CACHE_DIR"
NODE_WANT_MAJOR=24

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  if command -v node >/dev/null 2>&1 && [ "$(node_major node)" -ge "$NODE_WANT_MAJOR" ]; then
    return 0
  fi
  node_dir="$CACHE_DIR/node"
  if [ ! -x "$node_dir/node_modules/.bin/node" ] || [ "$(node_major "$node_dir/node_modules/.bin/node")" -lt "$NODE_WANT_MAJOR" ]; then
    echo "bootstrap: installing Node $NODE_WANT_MAJOR into $node_dir" >&2
    mkdir -p "$node_dir"
    npm install --no-audit --no-fund --loglevel=error --prefix "$node_dir" "node@$NODE_WANT_MAJOR" >&2 || return 1
  fi
  PATH="$node_dir/node_modules/.bin:$PATH"
  export PATH
}
