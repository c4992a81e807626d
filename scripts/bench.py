#!/usr/bin/env python3
"""make bench: figures measured side by side against their anchors in one run.

hook_push_ratio   median `git push` of one small commit into a repository with git-pipeline
                  installed / the same into one whose post-receive hook is `exit 0` (interleaved);
                  the runner is alive and has finished the last push's pipeline (bound 1.1)
hook_push_cold_ratio  the same when no runner is alive: the hook journals the push, starts a
                  runner in the background and returns (bound 1.2)
zip_ratio         `git pipeline archive` / `git archive --format=zip` of the same commit, the largest
                  over the trees (issue 12's bound 0.75); zip_peak_rss_mib its largest peak RSS,
                  beside git archive's (git_archive_zip_*_peak_rss_mib)
workspace_ratio   a `true` action right after Source (its start to its end in the store: workspace
                  and sandbox) / `git archive --format=tar | tar -x` into a new folder; the largest
                  over the trees (bound 1.0; workspace_*_s the seconds, bound 2 s netbeans-sized)
runner_peak_rss_mib  VmHWM of a `runner --foreground` that ran those executions and one more that
                  zips a whole workspace into an artifact and unpacks it elsewhere (bound 128 MiB)
record_to_start_ms  median time from a push being recorded (executions.createdAt) to its execution
                  starting (startedAt), with a live `runner --foreground` answering the hook; the
                  issue's bound is 5 ms
idle_runner_cpu_percent  CPU an idle `runner --foreground` uses over 12 s, in % of one core (bound 0.5;
                  the resolution is one clock tick, 0.08 %)
sandbox_start_ms  median time to start an action's sandbox (bubblewrap with the repository's own
                  arguments, as `git pipeline doctor` measures it) around /bin/true; bound 25 ms
sandbox_true_ms   /bin/true started directly, the anchor; sandbox_ratio the quotient
history_*_ratio   runner start (recovery included, then idle exit), `status`, `history`, `show` of the
                  newest execution and a push (runner warm), each with 10,000 executions in the
                  store / the same with 10; issue 12's bound is 1.2. The executions are copies of a
                  real one (its stages, actions, artifacts and events), written into the store
engine_ms_per_action  (execution time of 50 trivial `true` actions in one stage, one after the
                  other) / 50 — per action, the sandbox's start and bash's included;
                  action_process_ms what the action's own process costs: sandbox_start_ms plus
                  what bash running that action's script (the engine's commands.sh, kept) costs
                  over /bin/true, both started from here; engine_overhead_ms_per_action
                  engine_ms_per_action less action_process_ms: what the engine adds around the
                  action's process — the store, log, workspace, script and spawn (bound 5 ms)
parallel_50_sleep_s  50 `sleep 0.2` actions of one runOrder: the execution's time (0.2 s is the floor)

Trees: BENCH_REPOS=/a.git:/b.git names bare repositories (their HEAD; e.g. the snapshots of
git/git and coreboot that the search tool's `fetch` leaves in ../.mirror/OWNER+NAME/repo); without
it the bench generates a coreboot-shaped tree (24,000 files, 155 MB) and a netbeans-shaped one
(92,000 files, 400 MB). BENCH_TREES=small: the coreboot-shaped one only.
"""
import os
import glob, signal, random, shutil, statistics, subprocess, sys, tempfile, time

binary = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else ""
pushes = int(os.environ.get("BENCH_PUSHES", "60"))
work = tempfile.mkdtemp(prefix="git-pipeline-bench-")
env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@example.com",
           GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@example.com")
env = {k: v for k, v in env.items() if not k.startswith("GIT_DIR")}

trash = []  # folders deleted once the bench has printed (see the end)

def run(args, cwd=None, **kw):
    return subprocess.run(args, cwd=cwd, env=env, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)

def timed(args, cwd=None, watch_memory=False):
    """Wall seconds and peak RSS (KiB) of one child.

    The peak is the child's own VmHWM, read from /proc while it runs: wait4's ru_maxrss would also
    count this Python process, whose resident set a forked child inherits as its high-water mark.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while watch_memory and proc.poll() is None:
        try:
            with open("/proc/%d/status" % proc.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.002)
    status = proc.wait()
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit("failed: %s" % " ".join(args))
    return elapsed, peak

def runner_alive(server):
    """True while a runner holds the repository's runner lock."""
    import fcntl
    try:
        fd = os.open(os.path.join(server, "pipeline", "runner.lock"), os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)

def push_repo(name, install):
    server = os.path.join(work, name + ".git")
    clone = os.path.join(work, name)
    run(["git", "init", "-q", "--bare", "-b", "main", server])
    if install:
        run([binary, "install", server])
    else:
        hook = os.path.join(server, "hooks", "post-receive")
        with open(hook, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(hook, 0o755)
    run(["git", "init", "-q", "-b", "main", clone])
    with open(os.path.join(clone, ".pipeline.yml"), "w") as f:
        f.write("stages:\n  - name: Build\n    actions:\n      - name: Quick\n        category: Build\n"
                "        provider: Commands\n        commands: [\"true\"]\n")
    run(["git", "add", "-A"], cwd=clone)
    run(["git", "commit", "-q", "-m", "base"], cwd=clone)
    run(["git", "remote", "add", "origin", server], cwd=clone)
    run(["git", "push", "-q", "origin", "main"], cwd=clone)
    return clone

def timed_push(clone, label):
    """Commits a one-line change in `clone` and returns the wall seconds of pushing it."""
    with open(os.path.join(clone, "file.txt"), "w") as f:
        f.write(label + "\n")
    run(["git", "add", "-A"], cwd=clone)
    run(["git", "commit", "-q", "-m", label], cwd=clone)
    return timed(["git", "push", "-q", "origin", "main"], cwd=clone)[0]

def runner_settled(server):
    """Waits until the runner of `server` has finished every execution (it stays alive, idle):
    a push then pays for the hook, not for sharing two cores with the last push's pipeline."""
    deadline = time.time() + 30
    while time.time() < deadline:
        row = store_row(server, "SELECT COUNT(*) FROM executions WHERE status IN ('InProgress', 'Stopping')")
        if row and row[0] == 0:
            break
        time.sleep(0.02)
    time.sleep(0.1)  # its housekeeping after the last one

def bench_push():
    ours, plain = push_repo("ours", True), push_repo("plain", False)
    run(["git", "config", "pipeline.runnerIdleSeconds", "600"], cwd=ours + ".git")
    times = {ours: [], plain: []}
    for i in range(pushes):
        runner_settled(ours + ".git")
        for clone in ([ours, plain] if i % 2 == 0 else [plain, ours]):
            times[clone].append(timed_push(clone, "change %d" % i))
    ours_ms, plain_ms = statistics.median(times[ours]) * 1000, statistics.median(times[plain]) * 1000
    print("hook_push_ms=%.1f" % ours_ms)
    print("plain_push_ms=%.1f" % plain_ms)
    print("hook_push_ratio=%.2f" % (ours_ms / plain_ms))

    # Cold: the runner idles out at once, and each push waits until it has gone.
    server = ours + ".git"
    run(["git", "config", "pipeline.runnerIdleSeconds", "0"], cwd=server)
    for pid in subprocess.run(["pgrep", "-f", "runner --git-dir %s" % server], stdout=subprocess.PIPE, text=True).stdout.split():
        os.kill(int(pid), signal.SIGTERM)
    cold = {ours: [], plain: []}
    for i in range(20):
        for clone in (ours, plain):
            deadline = time.time() + 30
            while runner_alive(server) and time.time() < deadline:
                time.sleep(0.05)
            cold[clone].append(timed_push(clone, "cold %d" % i))
    cold_ms, cold_plain_ms = statistics.median(cold[ours]) * 1000, statistics.median(cold[plain]) * 1000
    print("hook_push_cold_ms=%.1f" % cold_ms)
    print("hook_push_cold_ratio=%.2f" % (cold_ms / cold_plain_ms))

def generated_tree(name, count, total_bytes, seed=42):
    """A bare repository whose `main` holds one commit of `count` files totalling about
    `total_bytes`: text of lines drawn from a pool (it compresses like source code), log-normal
    sizes as real trees have, folders three deep, one file in 50 executable. Packed with deltas
    10 deep, as fast-import leaves it (a gc'd server repository reads no faster)."""
    import math
    repo = os.path.join(work, name + ".git")
    run(["git", "init", "-q", "--bare", repo])
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "pipeline", "stage", "action", "artifact", "commit", "tree",
             "static", "void", "return", "struct", "if", "else", "for", "int", "char", "uint32_t", "{", "}", ";"]
    pool = [(" ".join(rng.choice(words) for _ in range(rng.randrange(2, 14))) + " %d\n" % rng.randrange(1 << 20)).encode()
            for _ in range(20000)]
    sigma = 1.3
    mu = math.log(total_bytes / count) - sigma * sigma / 2
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--depth=10"], cwd=repo, stdin=subprocess.PIPE, env=env)
    out = proc.stdin
    out.write(b"commit refs/heads/main\ncommitter bench <b@example.com> 1700000000 +0000\ndata 9\ngenerated\n")
    for i in range(count):
        size = min(int(rng.lognormvariate(mu, sigma)), 8 << 20)
        chunks, have = [], 0
        while have < size:
            line = pool[rng.randrange(len(pool))]
            chunks.append(line)
            have += len(line)
        data = b"".join(chunks)
        mode = b"100755" if i % 50 == 0 else b"100644"
        out.write(b"M %s inline d%02d/s%02d/t%d/file%05d.c\ndata %d\n" % (mode, i % 97, i % 31, i % 7, i, len(data)))
        out.write(data)
        out.write(b"\n")
    out.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed for %s" % name)
    run(["git", "repack", "-a", "-d", "-q"], cwd=repo)
    return repo

def bench_trees_list():
    """(name, bare repository, commit) of the trees measured: BENCH_REPOS's, else generated ones
    of coreboot's and netbeans' shape (BENCH_TREES=small: only the first, a quick run)."""
    trees = []
    for path in filter(None, os.environ.get("BENCH_REPOS", "").split(":")):
        path = os.path.abspath(path)
        if not os.path.isdir(os.path.join(path, "objects")):
            raise SystemExit("BENCH_REPOS: %s is not a bare repository" % path)
        name = os.path.basename(path[:-4] if path.endswith(".git") else path)
        if name == "repo":  # the search tool's fetch leaves OWNER+NAME/repo
            name = os.path.basename(os.path.dirname(path)).split("+")[-1]
        commit = subprocess.run(["git", "rev-parse", "--verify", "--end-of-options", "HEAD^{commit}"], cwd=path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
        if not commit:
            raise SystemExit("BENCH_REPOS: %s has no HEAD commit" % path)
        trees.append((name.replace("-", "_").replace(".", "_"), path, commit))
    if not trees:
        shapes = [("coreboot_shaped", 24000, 155_000_000), ("netbeans_shaped", 92000, 400_000_000)]
        if os.environ.get("BENCH_TREES") == "small":
            shapes = shapes[:1]
        for name, count, size in shapes:
            repo = generated_tree(name, count, size)
            trees.append((name, repo, run(["git", "rev-parse", "main"], cwd=repo).stdout.decode().strip()))
    return trees

def settle():
    """Lets the disk catch up: nothing is timed while the last tree's writes are still going out."""
    os.sync()
    time.sleep(1)

def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0

def tree_definition(full):
    lines = ["stages:", "  - name: Build", "    actions:",
             "      - name: Quick", "        category: Build", "        provider: Commands", "        commands: [\"true\"]"]
    if full:  # the runner zips a whole workspace, then unpacks that artifact elsewhere
        lines += ["      - name: Pack", "        category: Build", "        provider: Commands", "        runOrder: 2",
                  "        commands: [\"true\"]", "        outputArtifacts:", "          - name: Everything",
                  "            files: [\"**/*\"]",
                  "  - name: Use", "    actions:", "      - name: Unpack", "        category: Test", "        provider: Commands",
                  "        inputArtifacts: [Everything]", "        commands: [\"true\"]"]
    return "\n".join(lines) + "\n"

def commit_tree_with_definition(server, commit, text):
    """Makes `main` of `server` a commit of `commit`'s tree plus .pipeline.yml = `text`."""
    ienv = dict(env, GIT_INDEX_FILE=os.path.join(work, "bench-index"))
    def git(args, data=None):
        return subprocess.run(["git"] + args, cwd=server, env=ienv, input=data, stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    blob = git(["hash-object", "-w", "--stdin"], text.encode())
    git(["read-tree", commit])
    git(["update-index", "--add", "--cacheinfo", "100644,%s,.pipeline.yml" % blob])
    new = git(["commit-tree", git(["write-tree"]), "-p", commit, "-m", "bench"])
    git(["update-ref", "refs/heads/main", new])

def bench_trees():
    """For each tree: the SourceArtifact against `git archive --format=zip` (time, peak RSS); the
    workspace of a `true` action right after Source against `git archive | tar -x`; and the peak
    RSS of a runner that archived the tree, wrote workspaces from it, zipped a whole workspace into
    an artifact and unpacked that into another."""
    zip_ratios, workspace_ratios, zip_rss, runner_rss = [], [], [], []
    # Nothing is deleted until every tree is measured: for minutes after a tree of files is
    # deleted, ext4 scans its inode bitmaps on every create (recently_deleted), which made
    # either side 5-20 times slower, by turns.
    leftovers = []
    for name, repo, commit in bench_trees_list():
        files = len(run(["git", "ls-tree", "-r", "--name-only", commit], cwd=repo).stdout.splitlines())
        print("tree_%s_files=%d" % (name, files))
        rounds = 3 if files < 50000 else 2
        ours_t, git_t = [], []
        for i in range(rounds):
            ours_t.append(timed([binary, "archive", commit, "-o", os.path.join(work, "ours.zip"), "--git-dir", repo])[0])
            git_t.append(timed(["git", "archive", "--format=zip", "-o", os.path.join(work, "git.zip"), commit], cwd=repo)[0])
        # Peaks in runs of their own: polling /proc costs this process a core.
        ours_peak = timed([binary, "archive", commit, "-o", os.path.join(work, "ours.zip"), "--git-dir", repo], watch_memory=True)[1]
        git_peak = timed(["git", "archive", "--format=zip", "-o", os.path.join(work, "git.zip"), commit], cwd=repo, watch_memory=True)[1]
        ratio = statistics.median(ours_t) / statistics.median(git_t)
        zip_ratios.append(ratio)
        zip_rss.append(ours_peak)
        print("zip_%s_ms=%.0f" % (name, statistics.median(ours_t) * 1000))
        print("git_archive_zip_%s_ms=%.0f" % (name, statistics.median(git_t) * 1000))
        print("zip_%s_ratio=%.2f" % (name, ratio))
        print("zip_%s_peak_rss_mib=%.1f" % (name, ours_peak / 1024))
        print("git_archive_zip_%s_peak_rss_mib=%.1f" % (name, git_peak / 1024))
        sys.stdout.flush()

        # The server borrows the tree's objects (alternates): nothing is copied, the tree's
        # repository is only read.
        server = os.path.join(work, name + "-server.git")
        run(["git", "init", "-q", "--bare", "-b", "main", server])
        with open(os.path.join(server, "objects", "info", "alternates"), "w") as f:
            f.write(os.path.join(repo, "objects") + "\n")
        run([binary, "install", server])
        run(["git", "config", "pipeline.keepWorkspaces", "all"], cwd=server)  # deleted at the end, untimed
        run(["git", "config", "pipeline.runnerIdleSeconds", "600"], cwd=server)
        runner = subprocess.Popen([binary, "runner", "--foreground", "--git-dir", server], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        work_folder = os.path.join(server, "pipeline", "work")
        try:
            deadline = time.time() + 30
            while not os.path.exists(os.path.join(server, "pipeline", "hook.sock")) and time.time() < deadline:
                time.sleep(0.05)
            def execute(number):
                run([binary, "start", "--git-dir", server])
                deadline = time.time() + 900
                while time.time() < deadline:
                    row = store_row(server, "SELECT status FROM executions WHERE number = ?", (number,))
                    if row and row[0] not in ("InProgress", "Queued"):
                        if row[0] != "Succeeded":
                            raise SystemExit("bench: %s execution #%d: %s" % (name, number, row[0]))
                        return
                    time.sleep(0.05)
                raise SystemExit("bench: %s execution #%d did not end" % (name, number))
            commit_tree_with_definition(server, commit, tree_definition(False))
            ours_w, tar_w = [], []
            for number in range(1, rounds + 2):
                settle()
                execute(number)
                if number > 1:  # the first one's Source zips the tree: its writes would still be going
                    begun, ended = store_row(server, "SELECT a.startedAt, a.endedAt FROM actions a JOIN executions e "
                                                     "ON e.id = a.executionId WHERE e.number = ? AND a.actionName = 'Quick'", (number,))
                    ours_w.append(ended - begun)
                if number > 1:
                    settle()
                    target = os.path.join(work, "tar-%s-%d" % (name, number))
                    os.makedirs(target)
                    start = time.perf_counter()
                    subprocess.run("git archive --format=tar %s | tar -x -C %s" % (commit, target), shell=True, cwd=repo, env=env, check=True)
                    tar_w.append(time.perf_counter() - start)
                    leftovers.append(target)
            ratio = statistics.median(ours_w) / statistics.median(tar_w)
            workspace_ratios.append(ratio)
            print("workspace_%s_s=%.2f" % (name, statistics.median(ours_w)))
            print("git_archive_tar_x_%s_s=%.2f" % (name, statistics.median(tar_w)))
            print("workspace_%s_ratio=%.2f" % (name, ratio))
            settle()
            commit_tree_with_definition(server, commit, tree_definition(True))
            execute(rounds + 2)
            peak = vm_hwm_kib(runner.pid)
            runner_rss.append(peak)
            print("runner_%s_peak_rss_mib=%.1f" % (name, peak / 1024))
            sys.stdout.flush()
        finally:
            runner.terminate()
            runner.wait()
            leftovers.append(work_folder)
    trash.extend(leftovers)
    print("zip_ratio=%.2f" % max(zip_ratios))
    print("zip_peak_rss_mib=%.1f" % (max(zip_rss) / 1024))
    print("workspace_ratio=%.2f" % max(workspace_ratios))
    print("runner_peak_rss_mib=%.1f" % (max(runner_rss) / 1024))

def cpu_seconds(pid):
    """utime + stime of a whole process (threads that ended included), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def bench_wakeups():
    import sqlite3
    clone = push_repo("wake", True)
    server = clone + ".git"
    runner = subprocess.Popen([binary, "runner", "--foreground", "--git-dir", server], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while not os.path.exists(os.path.join(server, "pipeline", "hook.sock")) and time.time() < deadline:
            time.sleep(0.05)
        db = sqlite3.connect(os.path.join(server, "pipeline", "state.sqlite"), timeout=10)
        def ended():
            return db.execute("SELECT COUNT(*) FROM executions WHERE status = 'InProgress'").fetchone()[0] == 0
        for i in range(20):
            timed_push(clone, "wake %d" % i)
            deadline = time.time() + 30
            while not ended() and time.time() < deadline:
                time.sleep(0.02)
        rows = db.execute("SELECT (startedAt - createdAt) * 1000 FROM executions WHERE triggerType = 'WebhookV2' "
                          "AND startedAt IS NOT NULL ORDER BY number DESC LIMIT 20").fetchall()
        print("record_to_start_ms=%.2f" % statistics.median(r[0] for r in rows))
        print("record_to_start_max_ms=%.2f" % max(r[0] for r in rows))
        time.sleep(1)  # let the last execution's notes and the runner settle
        # What is left is libdispatch's own thread-pool monitor, a 1 Hz timer of the Swift runtime on Linux.
        before, seconds = cpu_seconds(runner.pid), 12.0
        time.sleep(seconds)
        print("idle_runner_cpu_percent=%.3f" % ((cpu_seconds(runner.pid) - before) / seconds * 100))
    finally:
        runner.terminate()
        runner.wait()

def fill_history(server, total):
    """Copies execution #1 of `server` until the store holds `total` executions (rows of every table
    that belongs to an execution, new ids and numbers, times spread back over days)."""
    import sqlite3, uuid
    db = sqlite3.connect(os.path.join(server, "pipeline", "state.sqlite"))
    first = db.execute("SELECT id, pipeline, createdAt FROM executions ORDER BY number LIMIT 1").fetchone()
    have = db.execute("SELECT COUNT(*) FROM executions").fetchone()[0]
    def columns(table):
        return [r[1] for r in db.execute("PRAGMA table_info(%s)" % table)]
    ex_cols, st_cols, ac_cols, ar_cols, ev_cols = (columns(t) for t in ("executions", "stages", "actions", "artifacts", "events"))
    ex = db.execute("SELECT * FROM executions WHERE id = ?", (first[0],)).fetchone()
    stages = db.execute("SELECT * FROM stages WHERE executionId = ?", (first[0],)).fetchall()
    actions = db.execute("SELECT * FROM actions WHERE executionId = ?", (first[0],)).fetchall()
    artifacts = db.execute("SELECT * FROM artifacts WHERE executionId = ?", (first[0],)).fetchall()
    events = db.execute("SELECT * FROM events WHERE executionId = ?", (first[0],)).fetchall()
    number = db.execute("SELECT MAX(number) FROM executions").fetchone()[0]
    def put(table, cols, row, changes):
        values = [changes.get(c, v) for c, v in zip(cols, row)]
        db.execute("INSERT INTO %s (%s) VALUES (%s)" % (table, ",".join(cols), ",".join("?" * len(cols))), values)
    for i in range(total - have):
        number += 1
        new = str(uuid.uuid4())
        back = (total - have - i) * 60.0
        put("executions", ex_cols, ex, {"id": new, "number": number, "createdAt": ex[ex_cols.index("createdAt")] - back,
                                        "startedAt": ex[ex_cols.index("createdAt")] - back, "endedAt": ex[ex_cols.index("createdAt")] - back + 2})
        for row in stages: put("stages", st_cols, row, {"executionId": new})
        for row in actions: put("actions", ac_cols, row, {"executionId": new, "id": None})
        for row in artifacts: put("artifacts", ar_cols, row, {"executionId": new})
        for row in events: put("events", ev_cols, row, {"executionId": new, "id": None})
    # Their notes are what a runner would have written: up to date with their events.
    db.execute("CREATE TEMP TABLE noted AS SELECT executionId, MAX(id) AS revision FROM events GROUP BY executionId")
    db.execute("UPDATE executions SET notedRevision = (SELECT revision FROM noted WHERE noted.executionId = executions.id)")
    db.execute("UPDATE counters SET lastNumber = ? WHERE pipeline = ?", (number, first[1]))
    db.commit()
    db.close()

def bench_history():
    """Both stores are made first; then every figure is taken from them by turns (10, 10k, then
    10k, 10, ...), so that the machine's drift (the disk writing back the big store) falls on both."""
    servers, clones, latest = {}, {}, {}
    for total in (10, 10000):
        clone = push_repo("history%d" % total, True)
        server = clone + ".git"
        run(["git", "config", "pipeline.runnerIdleSeconds", "0"], cwd=server)  # runner start: recovery, then exit
        deadline = time.time() + 60
        while time.time() < deadline and subprocess.run([binary, "show", "--git-dir", server, "--json"], env=env,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.count('"Succeeded"') == 0:
            time.sleep(0.1)
        while runner_alive(server):
            time.sleep(0.1)
        fill_history(server, total)
        servers[total], clones[total] = server, clone
        latest[total] = "%s#%d" % (os.path.basename(clone), total)
    settle()
    samples = {total: {name: [] for name in ("runner_start", "status", "history", "show", "push")} for total in servers}
    commands = {
        "runner_start": lambda t: [binary, "runner", "--git-dir", servers[t]],
        "status": lambda t: [binary, "status", "--git-dir", servers[t]],
        "history": lambda t: [binary, "history", "--git-dir", servers[t]],
        "show": lambda t: [binary, "show", latest[t], "--git-dir", servers[t]],
    }
    for i in range(9):
        for total in ((10, 10000) if i % 2 == 0 else (10000, 10)):
            for name, command in commands.items():
                samples[total][name].append(timed(command(total), cwd=servers[total])[0])
    runners = []
    try:
        for total in servers:
            run(["git", "config", "pipeline.runnerIdleSeconds", "600"], cwd=servers[total])
            runners.append(subprocess.Popen([binary, "runner", "--foreground", "--git-dir", servers[total]], env=env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1)
        for i in range(9):
            for total in ((10, 10000) if i % 2 == 0 else (10000, 10)):
                runner_settled(servers[total])
                samples[total]["push"].append(timed_push(clones[total], "h%d-%d" % (total, i)))
    finally:
        for runner in runners:
            runner.terminate()
            runner.wait()
    for name in ("runner_start", "status", "history", "show", "push"):
        few, many = statistics.median(samples[10][name]), statistics.median(samples[10000][name])
        print("history_%s_10_ms=%.1f" % (name, few * 1000))
        print("history_%s_10k_ms=%.1f" % (name, many * 1000))
        print("history_%s_ratio=%.2f" % (name, many / few))

def store_row(server, sql, args=()):
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(server, "pipeline", "state.sqlite"), uri=True, timeout=10)
    try:
        return db.execute(sql, args).fetchone()
    finally:
        db.close()

def bench_actions():
    results = {}
    for name, run_order, command in (("sequential", True, "true"), ("parallel", False, "sleep 0.2")):
        clone = push_repo("actions-" + name, True)
        server = clone + ".git"
        run(["git", "config", "pipeline.keepWorkspaces", "all"], cwd=server)  # the script is read below
        if os.environ.get("BENCH_NO_SANDBOX"):
            run(["git", "config", "pipeline.sandbox", "false"], cwd=server)
        lines = ["stages:", "  - name: Work", "    actions:"]
        for i in range(50):
            lines += ["      - name: A%02d" % i, "        category: Build", "        provider: Commands",
                      "        runOrder: %d" % (i + 1 if run_order else 1), "        commands: [\"%s\"]" % command]
        with open(os.path.join(clone, ".pipeline.yml"), "w") as f:
            f.write("\n".join(lines) + "\n")
        samples = []
        for round in range(3):
            with open(os.path.join(clone, "file.txt"), "w") as f:
                f.write("%s %d\n" % (name, round))
            run(["git", "add", "-A"], cwd=clone)
            run(["git", "commit", "-q", "-m", "r%d" % round], cwd=clone)
            run(["git", "push", "-q", "origin", "main"], cwd=clone)
            number = round + 2
            deadline = time.time() + 120
            while time.time() < deadline:
                row = store_row(server, "SELECT status FROM executions WHERE number = ?", (number,))
                if row and row[0] in ("Succeeded", "Failed"):
                    break
                time.sleep(0.2)
            # The engine's span: the first action's start to the last one's end, from the store.
            first, last = store_row(server, "SELECT MIN(a.startedAt), MAX(a.endedAt) FROM actions a JOIN executions e "
                                            "ON e.id = a.executionId WHERE e.number = ? AND a.stageName = 'Work'", (number,))
            samples.append(last - first)
        results[name] = statistics.median(samples)
        if name == "sequential":
            scripts = sorted(glob.glob(os.path.join(server, "pipeline", "work", "*", "Work", "A00.1.meta", "commands.sh")))
            script = scripts[-1] if scripts else None
    per_action = results["sequential"] / 50 * 1000
    print("engine_ms_per_action=%.1f" % per_action)
    if sandbox_start_ms is not None and script:
        # The action's own process, started from here: the sandbox around /bin/true (doctor's
        # figure) plus what bash running the action's script adds over /bin/true.
        def median_ms(args, n=30):
            samples = []
            for _ in range(n):
                start = time.perf_counter()
                subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                samples.append((time.perf_counter() - start) * 1000)
            return statistics.median(samples)
        bash_ms = median_ms(["/bin/bash", "--noprofile", "--norc", script])
        true_ms = median_ms(["/bin/true"])
        process_ms = bash_ms if os.environ.get("BENCH_NO_SANDBOX") else sandbox_start_ms + bash_ms - true_ms
        print("action_process_ms=%.1f" % process_ms)
        print("engine_overhead_ms_per_action=%.1f" % (per_action - process_ms))
    elif sandbox_start_ms is not None:
        print("engine_overhead_ms_per_action: not measured: the action's script was not kept")
    print("parallel_50_sleep_s=%.2f" % results["parallel"])

sandbox_start_ms = None  # set by bench_sandbox, which runs first

def bench_sandbox():
    server = os.path.join(work, "sandbox.git")
    run(["git", "init", "-q", "--bare", "-b", "main", server])
    run([binary, "install", server])
    out = subprocess.run([binary, "doctor", "--git-dir", server], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True).stdout
    line = next((l for l in out.splitlines() if "sandbox starts in" in l), None)
    if line is None:
        print("sandbox_start_ms: not measured: %s" % next((l for l in out.splitlines() if "sandbox" in l), "no sandbox line from doctor"))
        return
    sandbox_ms = float(line.split("starts in ")[1].split(" ms")[0])
    global sandbox_start_ms
    sandbox_start_ms = sandbox_ms
    samples = []
    for _ in range(15):
        start = time.perf_counter()
        subprocess.run(["/bin/true"])
        samples.append((time.perf_counter() - start) * 1000)
    true_ms = statistics.median(samples)
    print("sandbox_start_ms=%.1f" % sandbox_ms)
    print("sandbox_true_ms=%.2f" % true_ms)
    print("sandbox_ratio=%.1f" % (sandbox_ms / true_ms))

if __name__ == "__main__":
    try:
        only = os.environ.get("BENCH_ONLY")
        if only:
            if only == "actions":
                bench_sandbox()
            {"history": bench_history, "actions": bench_actions, "trees": bench_trees, "push": bench_push}[only]()
            raise SystemExit(0)
        began = time.time()
        for part in (bench_sandbox, bench_history, bench_actions, bench_wakeups, bench_push, bench_trees):
            start = time.time()
            part()
            print("bench_%s_s=%.0f" % (part.__name__[len("bench_"):], time.time() - start))
            sys.stdout.flush()
        print("bench_total_s=%.0f" % (time.time() - began))
    finally:
        time.sleep(2)  # let the runner of the push repository idle out before its folder goes
        # Gigabytes of small files take minutes to delete here: a detached `rm` does it after the
        # bench has printed and returned.
        subprocess.Popen(["rm", "-rf"] + trash + [work], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
