#!/bin/sh
# Runs each fuzz target for a bounded time, seeded with the test corpus: zips we write and real
# definitions from ../shared/corpus. Exit 1 when a target found a crash (the input is in fuzz/findings/).
set -e
bin="$1"; seconds="${2:-120}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/.build/fuzz-corpus"
mkdir -p "$work/zip" "$work/definition" "$root/fuzz/findings"
# Seeds: the committed regressions, and the definitions of the shared corpus.
cp "$root"/Tests/Fuzz/regressions/zip/* "$work/zip/" 2>/dev/null || true
cp "$root"/Tests/Fuzz/regressions/definition/* "$work/definition/" 2>/dev/null || true
if [ -d "$root/../shared/corpus" ]; then
    find "$root/../shared/corpus" -type f \( -name '*.yml' -o -name '*.yaml' -o -name '*.json' \) | head -300 | while read -r f; do
        cp "$f" "$work/definition/$(echo "$f" | cksum | cut -d' ' -f1)"
    done
fi
# A real zip to start from: git's own archive of this repository's README.
git -C "$root" archive --format=zip HEAD README.md Makefile > "$work/zip/seed.zip" 2>/dev/null || true
status=0
for target in zip definition; do
    echo "fuzz-$target: $seconds s"
    if ! "$bin/fuzz-$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$root/fuzz/findings/$target-" "$work/$target" 2> "$work/$target.log"; then
        status=1
        echo "fuzz-$target FOUND A CRASH: $(ls -t "$root"/fuzz/findings/$target-* | head -1)"
    fi
    grep -E '^#[0-9]+ +DONE|^Done' "$work/$target.log" | tail -1 || tail -3 "$work/$target.log"
done
exit $status
