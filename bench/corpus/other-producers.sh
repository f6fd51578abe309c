#!/usr/bin/env bash
# Build a second corpus of real-world PDFs, from other producers than pdfTeX: Ghostscript
# (LilyPond scores and manuals, CUPS test pages), LibreOffice, cairo, ReportLab, xdvipdfmx and
# ImageMagick, all from Debian 12 (bookworm) packages, fetched and unpacked as debian-pdfs.sh
# does (nothing installed, nothing committed).
#
# Usage: bash bench/corpus/other-producers.sh [DEST]   (default: <repo>/bench/.corpus/other-pdf)
#
# 58 PDFs (67 MB) from 5 packages (45 MB of .debs). `pdfinfo FILE | grep Producer` shows who wrote each one.
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEST="${1:-$SCRIPT_DIR/../.corpus/other-pdf}"
export SLUICE_CORPUS_PACKAGES="lilypond-doc-pdf cups-filters python-reportlab-doc debian-reference-en asymptote-doc"
exec bash "$SCRIPT_DIR/debian-pdfs.sh" "$DEST"
