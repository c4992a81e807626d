#!/bin/sh
# make bench: prints name=value lines (see scripts/bench.py for what each figure is).
exec python3 "$(dirname "$0")/bench.py" "$1"
