# Shared by the target recipes (ci/targets/*/build). Source it; every recipe:
#   - takes the base node image (ci/node-image/build's) as $1,
#   - builds what it adds from the registries served here (Go module proxy, crates.io,
#     Debian), cached under ${PODCHECK_CACHE_DIR:-~/.cache/podcheck}/targets by its inputs,
#   - makes a node image FROM the base with it, tagged by a hash of its own directory and the
#     base image, and prints that reference as the last line of stdout (logs go to stderr).
set -euo pipefail

targets_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${PODCHECK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/podcheck}/targets
log() { echo "target $target: $*" >&2; }
die() { log "error: $*"; exit 1; }

# hash_dir DIR: one hash over the names and contents of every file below DIR.
hash_dir() {
  (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-12
}

# variant_ref BASE: the tag of this target's image on BASE (changes with the recipe or the
# base, never with where the checkout is).
variant_ref() {
  local base_id
  base_id=$(docker image inspect -f '{{.Id}}' "$1" 2>/dev/null) || die "no base node image $1 (build it with ci/node-image/build)"
  local key
  key=$( (hash_dir "$targets_dir/$target"; sha256sum <"$targets_dir/lib.sh"; echo "$base_id") | sha256sum | cut -c1-12)
  echo "podcheck.local/node-$target:$key"
}

# cached REF: print REF and succeed when the image is there already.
cached() {
  if docker image inspect "$1" >/dev/null 2>&1; then
    log "cached: $1"
    echo "$1"
    return 0
  fi
  return 1
}

# cache_dir NAME INPUTS...: a directory for built artefacts, keyed by NAME and INPUTS.
cache_dir() {
  local name=$1
  shift
  local key
  key=$(echo "$*" | sha256sum | cut -c1-12)
  echo "$cache_root/$name-$key"
}

# need_deb PACKAGE: install a Debian package on this machine if it is missing.
need_deb() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' && return 0
  log "installing $1"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null ||
    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null; }
}

# base_sandbox_image BASE: the pause image the base node's containerd uses.
base_sandbox_image() {
  docker run --rm --entrypoint sh "$1" -c \
    "sed -n 's/^ *sandbox_image = \"\\(.*\\)\"/\\1/p' /etc/containerd/config.toml" | head -n 1
}

# build_variant REF BASE CONTEXT: docker build CONTEXT (its Dockerfile takes ARG BASE).
build_variant() {
  DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$2" -t "$1" "$3" >/dev/null ||
    die "docker build of $1 failed"
  log "built $1 ($(( $(docker image inspect -f '{{.Size}}' "$1") / 1024 / 1024 )) MiB)"
  echo "$1"
}
