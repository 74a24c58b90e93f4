# Sourced by provision-node.sh and build-image.sh: buildah's image store and config
# live in the project's cache (not /var/lib/containers), so the pod tests leave no
# state behind outside it and one `rm -rf` resets it.
_cs="${XDG_CACHE_HOME:-$HOME/.cache}/rockset-sink-operator/containers"
mkdir -p "$_cs/storage"
if [ ! -f "$_cs/storage.conf" ]; then
  cat >"$_cs/storage.conf.tmp" <<EOC
[storage]
driver = "overlay"
graphroot = "$_cs/storage"
runroot = "/run/rso-containers"
EOC
  mv -f "$_cs/storage.conf.tmp" "$_cs/storage.conf"
fi
export CONTAINERS_STORAGE_CONF="$_cs/storage.conf"
