#!/bin/sh
# make demo: a temporary bare repository with git-pipeline installed, one push of templates/demo,
# then the note and the pipeline's status once the execution has finished.
set -e
binary="$1"
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/git-pipeline-demo.XXXXXX")
export GIT_AUTHOR_NAME="git-pipeline demo" GIT_AUTHOR_EMAIL="demo@example.com"
export GIT_COMMITTER_NAME="git-pipeline demo" GIT_COMMITTER_EMAIL="demo@example.com"

echo "== git init --bare $work/app.git && git pipeline install"
git init -q --bare -b main "$work/app.git"
"$binary" install "$work/app.git"

echo "== a clone with templates/demo, pushed"
git init -q -b main "$work/app"
cp -R "$top/templates/demo/." "$work/app/"
cd "$work/app"
git add -A
git commit -q -m "Demo: hello from git-pipeline"
git remote add origin "$work/app.git"
git push origin main 2>&1

commit=$(git rev-parse HEAD)
echo "== waiting for the execution (the push returned at once; a background runner works)"
i=0
while :; do
    note=$(git -C "$work/app.git" notes --ref=ci show "$commit" 2>/dev/null || true)
    case "$note" in
        *" Succeeded  "*|*" Failed  "*) first=$(printf '%s\n' "$note" | head -n 1)
            case "$first" in *InProgress*) ;; *) break ;; esac ;;
    esac
    i=$((i + 1))
    if [ $i -gt 600 ]; then echo "the execution did not finish in 60 s"; cat "$work/app.git/pipeline/runner.log"; exit 1; fi
    sleep 0.1
done

echo
echo "== git log --notes=ci -1   (in the server repository; a clone sees it after fetching refs/notes/*)"
git -C "$work/app.git" log --notes=ci -1 main
echo
echo "== git pipeline status"
cd "$work/app.git" && "$binary" status
echo
echo "== the actions ran in the sandbox (git pipeline doctor)"
"$binary" doctor --git-dir "$work/app.git" | grep sandbox || true
echo
echo "The demo repository stays in $work (remove it when done)."
case "$note" in *"demo #1 Succeeded"*) exit 0 ;; *) exit 1 ;; esac
