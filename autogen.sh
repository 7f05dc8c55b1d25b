#!/bin/sh
# Regenerates the build lists from the folders (sources.am), then the
# autotools files: run after adding or removing a source file.
set -e
cd "$(dirname "$0")"
sh scripts/gen-sources.sh
autoreconf -fi
