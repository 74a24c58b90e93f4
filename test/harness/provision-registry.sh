#!/bin/sh
# Provisions Apicurio Registry (Confluent-compatible API at /apis/ccompat/v7)
# from Maven Central into the shared cache. Idempotent (stamp file).
set -e
. "$(dirname "$0")/../../scripts/env.sh"
APICURIO_VERSION="${APICURIO_VERSION:-3.3.3}"
dest="$CACHE_DIR/apicurio-$APICURIO_VERSION"
[ -f "$dest/.complete" ] && { echo "$dest"; exit 0; }
command -v mvn >/dev/null || { echo "provision-registry: Maven (mvn) is required" >&2; exit 1; }
echo "provision-registry: fetching Apicurio Registry $APICURIO_VERSION (~160 MB, first run only)" >&2
work="$dest.partial"
rm -rf "$work"; mkdir -p "$work"
# Run outside the clone: without a pom, Maven writes ${project.basedir}/ into the working directory.
(cd "$work" && mvn -q -B dependency:unpack -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" -DoutputDirectory="$work" >&2)
run=$(find "$work" -name quarkus-run.jar | head -1)
[ -n "$run" ] || { echo "provision-registry: quarkus-run.jar not found in the unpacked archive" >&2; exit 1; }
echo "$(dirname "$run")" > "$work/.app-dir"
touch "$work/.complete"
rm -rf "$dest"; mv "$work" "$dest"
sed -i "s#$work#$dest#" "$dest/.app-dir"
echo "$dest"
