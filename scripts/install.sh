#!/bin/sh
# `make install`: the binaries, the man page (swift-argument-parser's generate-manual, from the
# commands themselves) and shell completions, under PREFIX (default /usr/local; DESTDIR honoured).
# Usage: scripts/install.sh BUILD-BIN-FOLDER [PREFIX]
set -e
bin=$1
prefix=${2:-/usr/local}
root="${DESTDIR:-}$prefix"
for file in git-pipeline git-pipeline-hook generate-manual; do
    [ -x "$bin/$file" ] || { echo "install: $bin/$file is missing: build first (make install does)" >&2; exit 1; }
done
install -d "$root/bin" "$root/share/man/man1" "$root/share/bash-completion/completions" \
    "$root/share/zsh/site-functions" "$root/share/fish/vendor_completions.d"
# Side by side: the hook starts the runner from the folder it is in.
install -m 755 "$bin/git-pipeline" "$bin/git-pipeline-hook" "$root/bin/"
# git-pipeline.1: `man git-pipeline` and `git help pipeline` find it.
"$bin/generate-manual" "$bin/git-pipeline" --output-directory "$root/share/man/man1"
bash_completion="$root/share/bash-completion/completions/git-pipeline"
"$bin/git-pipeline" --generate-completion-script bash > "$bash_completion"
# `git pipeline <TAB>`: git's completion loads this file (as git-pipeline's) and calls _git_pipeline,
# which completes the words after `pipeline` as `git-pipeline` would.
cat >> "$bash_completion" <<'WRAPPER'

_git_pipeline() {
    local i=0
    while [ "$i" -lt "$COMP_CWORD" ] && [ "${COMP_WORDS[$i]}" != pipeline ]; do i=$((i + 1)); done
    local prefix="${COMP_LINE%%pipeline*}pipeline"
    local COMP_WORDS=(git-pipeline "${COMP_WORDS[@]:$((i + 1))}")
    local COMP_CWORD=$((COMP_CWORD - i))
    local COMP_POINT=$((COMP_POINT - ${#prefix} + 12))
    local COMP_LINE="git-pipeline${COMP_LINE#"$prefix"}"
    _git-pipeline git-pipeline "${COMP_WORDS[$COMP_CWORD]}" "${COMP_WORDS[$((COMP_CWORD - 1))]}"
}
WRAPPER
"$bin/git-pipeline" --generate-completion-script zsh > "$root/share/zsh/site-functions/_git-pipeline"
"$bin/git-pipeline" --generate-completion-script fish > "$root/share/fish/vendor_completions.d/git-pipeline.fish"
echo "installed git-pipeline in $root/bin, its man page and bash, zsh and fish completions"
