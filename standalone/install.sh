#!/usr/bin/env bash
# Kept for old instructions: installs Gantry built from this checkout with get-gantry.sh
# (`install.sh [DIR] [OPTIONS...]` = `get-gantry.sh [DIR] [OPTIONS...] --from-source`).
exec "$(dirname "$0")/get-gantry.sh" "$@" --from-source
