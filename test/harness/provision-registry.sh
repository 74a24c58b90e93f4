#!/bin/sh
# Provisions Apicurio Registry (Confluent-compatible API at /apis/ccompat/v7)
# from Maven Central into the shared cache. Idempotent (stamp file, plus a check
# that the recorded app folder really holds a runnable Quarkus app).
#
# The archive is a PAX tar whose longer jar names (> 100 chars) live in PAX
# headers. Maven's dependency:unpack (plexus-archiver) ignores those headers: it
# truncates those names and writes the headers out as PaxHeaders.X/ files, one of
# them named quarkus-run.jar. So Maven only fetches the archive and GNU tar unpacks it.
set -e
. "$(dirname "$0")/../../scripts/env.sh"
APICURIO_VERSION="${APICURIO_VERSION:-3.3.3}"
dest="$CACHE_DIR/apicurio-$APICURIO_VERSION"
runnable() {
  app=$(cat "$1/.app-dir" 2>/dev/null) || return 1
  [ -f "$app/quarkus-run.jar" ] && [ -f "$app/quarkus/quarkus-application.dat" ] && [ -d "$app/lib/boot" ] && [ ! -d "$1/PaxHeaders.X" ]
}
[ -f "$dest/.complete" ] && runnable "$dest" && { echo "$dest"; exit 0; }
command -v mvn >/dev/null || { echo "provision-registry: Maven (mvn) is required" >&2; exit 1; }
command -v tar >/dev/null || { echo "provision-registry: tar is required" >&2; exit 1; }
echo "provision-registry: fetching Apicurio Registry $APICURIO_VERSION (~160 MB, first run only)" >&2
work="$dest.partial"
rm -rf "$work"; mkdir -p "$work"
# Run outside the clone: without a pom, Maven writes ${project.basedir}/ into the working directory.
(cd "$work" && mvn -q -B dependency:copy -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" -DoutputDirectory="$work" >&2)
archive="$work/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
[ -f "$archive" ] || { echo "provision-registry: Maven did not deliver $archive" >&2; exit 1; }
tar -xzf "$archive" -C "$work" --no-same-owner
rm -f "$archive"
run=$(find "$work" -name quarkus-run.jar -not -path '*/PaxHeaders*' | head -1)
[ -n "$run" ] || { echo "provision-registry: quarkus-run.jar not found in the unpacked archive" >&2; exit 1; }
echo "$(dirname "$run")" > "$work/.app-dir"
touch "$work/.complete"
rm -rf "$dest"; mv "$work" "$dest"
sed -i "s#$work#$dest#" "$dest/.app-dir"
runnable "$dest" || { echo "provision-registry: $dest is not a runnable Quarkus app" >&2; exit 1; }
echo "$dest"
