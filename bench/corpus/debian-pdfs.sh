#!/usr/bin/env bash
# Build a corpus of real-world PDF files from Debian (bookworm) documentation
# packages, for benchmarking sluice on real inputs.
#
# Usage: bash bench/corpus/debian-pdfs.sh [DEST]
#
#   DEST  where the PDFs go (default: <repo>/bench/.corpus/debian-pdf)
#
# Environment:
#   SLUICE_CORPUS_MAX       copy at most this many PDFs (default: all)
#   SLUICE_CORPUS_PACKAGES  space-separated package list overriding the default
#   SLUICE_CORPUS_DEBS      where downloaded .deb files are cached
#                           (default: DEST/../debs)
#
# Only apt is used: packages are fetched with `apt-get download` (nothing is
# installed) and unpacked with `dpkg-deb -x`. `apt-get update` runs only if a
# download fails (e.g. the package lists are missing or stale).
#
# Layout produced:
#   DEST/<package>/<path under usr/share/doc/texlive-doc, '/' -> '__'>.pdf
#   DEST/.complete              number of PDFs (marks a finished corpus)
#   DEST.manifest              package, version, PDFs taken, .deb sha256 (beside DEST)
#
# Re-running is a no-op once DEST/.complete exists; delete DEST to rebuild.
set -euo pipefail

die() { echo "debian-pdfs: error: $*" >&2; exit 1; }
log() { echo "debian-pdfs: $*"; }

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

DEST="${1:-$REPO_ROOT/bench/.corpus/debian-pdf}"
DEST="${DEST%/}"
[[ -n "$DEST" ]] || die "DEST must not be empty or /"
MAX="${SLUICE_CORPUS_MAX:-0}"
[[ "$MAX" =~ ^[0-9]+$ ]] || die "SLUICE_CORPUS_MAX must be a non-negative integer, got '$MAX'"
MAX_BYTES=$((50 * 1024 * 1024))

# Debian 12 (bookworm) texlive doc packages: ~730 MB of .debs, ~2,300 PDFs (~790 MB)
# (package manuals, class/journal templates, TikZ/PSTricks-heavy graphics docs,
# fonts specimens, math/science typesetting).
DEFAULT_PACKAGES=(
  texlive-latex-base-doc
  texlive-latex-recommended-doc
  texlive-fonts-recommended-doc
  texlive-science-doc
  texlive-humanities-doc
  texlive-metapost-doc
  texlive-publishers-doc
  texlive-pictures-doc
)
if [[ -n "${SLUICE_CORPUS_PACKAGES:-}" ]]; then
  read -r -a PACKAGES <<<"$SLUICE_CORPUS_PACKAGES"
else
  PACKAGES=("${DEFAULT_PACKAGES[@]}")
fi
((${#PACKAGES[@]} > 0)) || die "empty package list"

count_pdfs() { find "$1" -type f -name '*.pdf' | wc -l; }

# --- already built? ----------------------------------------------------------
if [[ -f "$DEST/.complete" ]]; then
  log "corpus already complete at $DEST: $(cat "$DEST/.complete") PDFs ($(count_pdfs "$DEST") on disk)"
  exit 0
fi
if [[ -e "$DEST" ]]; then
  if [[ -d "$DEST" && -z "$(ls -A "$DEST")" ]]; then
    rmdir "$DEST"
  else
    die "$DEST exists but has no .complete marker; remove it and re-run"
  fi
fi

for tool in apt-get dpkg-deb gunzip find sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "required tool '$tool' not found (this script needs a Debian system)"
done

PARENT="$(dirname "$DEST")"
mkdir -p "$PARENT"
PARENT="$(cd "$PARENT" && pwd)"
DEST="$PARENT/$(basename "$DEST")"
DEBS="${SLUICE_CORPUS_DEBS:-$PARENT/debs}"
mkdir -p "$DEBS"
DEBS="$(cd "$DEBS" && pwd)"
MANIFEST="$PARENT/$(basename "$DEST").manifest"

STAGE="$DEST.partial"
rm -rf "$STAGE"
mkdir -p "$STAGE"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/debian-pdfs.XXXXXX")"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-q -y)
# As root, apt drops to the _apt user, which may not be able to write $DEBS.
if [[ $EUID -eq 0 ]]; then APT_OPTS+=(-o APT::Sandbox::User=root); fi

START=$SECONDS
UPDATED=0

# Set DEB to the cached .deb for package $1, downloading it if needed.
find_cached() { find "$DEBS" -maxdepth 1 -name "${1}_*.deb" | LC_ALL=C sort | tail -n 1; }
fetch_deb() {
  local pkg="$1"
  DEB="$(find_cached "$pkg")"
  [[ -n "$DEB" ]] && return 0
  log "downloading $pkg"
  if ! (cd "$DEBS" && apt-get "${APT_OPTS[@]}" download "$pkg"); then
    ((UPDATED == 0)) || die "apt-get download $pkg failed"
    log "apt-get download failed; running apt-get update once and retrying"
    apt-get "${APT_OPTS[@]}" update || die "apt-get update failed"
    UPDATED=1
    (cd "$DEBS" && apt-get "${APT_OPTS[@]}" download "$pkg") \
      || die "apt-get download $pkg failed even after apt-get update (does the package exist in this release?)"
  fi
  DEB="$(find_cached "$pkg")"
  [[ -n "$DEB" ]] || die "apt-get download $pkg produced no .deb in $DEBS"
}

TOTAL=0
SKIPPED_BIG=0
SKIPPED_NOTPDF=0
{
  echo "# Debian PDF corpus for sluice benchmarks ($(. /etc/os-release && echo "$PRETTY_NAME"))"
  echo "# built by bench/corpus/debian-pdfs.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# package	version	pdfs_taken	deb_sha256"
} >"$MANIFEST.tmp"

for pkg in "${PACKAGES[@]}"; do
  if ((MAX > 0 && TOTAL >= MAX)); then break; fi
  fetch_deb "$pkg"
  deb="$DEB"
  name="$(dpkg-deb -f "$deb" Package)" || die "cannot read control data of $deb (corrupt download? delete it and re-run)"
  version="$(dpkg-deb -f "$deb" Version)"
  root="$WORK/$pkg"
  mkdir -p "$root"
  dpkg-deb -x "$deb" "$root" || die "dpkg-deb -x $deb failed (corrupt download? delete it and re-run)"

  outdir="$STAGE/$name"
  mkdir -p "$outdir"
  taken=0
  while IFS= read -r -d '' src; do
    if ((MAX > 0 && TOTAL >= MAX)); then break; fi
    rel="${src#"$root"/}"
    rel="${rel#usr/share/doc/texlive-doc/}"
    rel="${rel#usr/share/doc/}"
    flat="${rel//\//__}"
    case "$flat" in
      *.[gG][zZ]) flat="${flat%.*}" ;;
    esac
    dst="$outdir/$flat"
    [[ -e "$dst" ]] && continue # e.g. both foo.pdf and foo.pdf.gz shipped
    if [[ "$src" != *.[gG][zZ] ]] && (($(stat -c %s "$src") > MAX_BYTES)); then
      SKIPPED_BIG=$((SKIPPED_BIG + 1)); continue
    fi
    case "$src" in
      *.[gG][zZ]) gunzip -c "$src" >"$dst" || { rm -f "$dst"; die "gunzip failed on $src"; } ;;
      *) cp "$src" "$dst" ;;
    esac
    size=$(stat -c %s "$dst")
    if ((size > MAX_BYTES)); then
      rm -f "$dst"; SKIPPED_BIG=$((SKIPPED_BIG + 1)); continue
    fi
    if [[ "$(head -c 1024 "$dst" | grep -ac '%PDF-' || true)" == 0 ]]; then
      rm -f "$dst"; SKIPPED_NOTPDF=$((SKIPPED_NOTPDF + 1)); continue
    fi
    taken=$((taken + 1))
    TOTAL=$((TOTAL + 1))
  done < <(find "$root" -type f \( -iname '*.pdf' -o -iname '*.pdf.gz' \) -print0 | LC_ALL=C sort -z)
  rm -rf "$root"
  rmdir "$outdir" 2>/dev/null || true

  printf '%s\t%s\t%d\t%s\n' "$name" "$version" "$taken" "$(sha256sum "$deb" | cut -d' ' -f1)" >>"$MANIFEST.tmp"
  log "$name $version: $taken PDFs (total $TOTAL)"
done

((TOTAL > 0)) || die "no PDFs found in packages: ${PACKAGES[*]}"

echo "$TOTAL" >"$STAGE/.complete"
mv "$STAGE" "$DEST"
mv "$MANIFEST.tmp" "$MANIFEST"

BYTES=$(find "$DEST" -type f -name '*.pdf' -printf '%s\n' | awk '{s+=$1} END {printf "%d", s}')
log "skipped $SKIPPED_BIG PDFs larger than 50 MB, $SKIPPED_NOTPDF files without a %PDF- header"
log "done: $TOTAL PDFs, $(numfmt --to=iec --suffix=B "$BYTES") ($BYTES bytes) in $((SECONDS - START))s"
log "corpus: $DEST"
log "manifest: $MANIFEST"
