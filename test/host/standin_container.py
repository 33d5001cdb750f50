"""Containers for the stand-in `docker`: what `compose up` created and what `docker exec` sees.

Loaded by standin.py (same directory in the sandbox). A container's state is taken when
`compose up` recreates its service: image, environment (env_file read in) and volumes, from the
real docker-compose's resolved `config`. So a compose edit reaches the container only after an
`up`, as with Docker. `docker exec NAME CMD` emulates the few commands the program runs inside
the runner container:

  printenv [VAR]                        from the recorded environment
  gitlab-runner --version               the version in the recorded image tag (…:ubuntu-v17.5.0)
  gitlab-runner fleeting -c F list|install [--upgrade]
                                        as commands/fleeting/fleeting.go does: F read through the
                                        container's volumes; plugins under FLEETING_PLUGIN_PATH
                                        (else /root/.config/fleeting/plugins, which is on no volume);
                                        install skips a plugin that is present, else "downloads" it
                                        from the fake registry in /.sandbox/state/fleeting-registry.json
                                        ({"versions": {"<registry>/<repo>": ["1.0.0", …]},
                                          "reachable": true, "requireProxy": "<HTTPS_PROXY value>"})
                                        and appends one line per download to fleeting-downloads.log.
                                        With "hold": true each download first creates fleeting-held
                                        and waits for fleeting-release (both in /.sandbox/state): a
                                        test takes its process snapshot while the install runs.

and, in a container whose recorded image is gitlab/gitlab-(ce|ee):X.Y.Z-(ce|ee).N, what the
upgrade's scripts ask GitLab (core/remote/sh/upgrade/):

  cat /opt/gitlab/embedded/service/gitlab-rails/VERSION
                                        X.Y.Z (CE) or X.Y.Z-ee (EE), as the omnibus image has it
  gitlab-rake gitlab:background_migrations:status
                                        printed as the real task does (background_migrations.rake,
                                        display_migration_status): "Database: main", then
                                        "%-10s | %s" of status and "class,table,column,arguments", from
                                        /.sandbox/state/gitlab-migrations.json: {"17.1.8": [poll 1's
                                        rows, poll 2's rows, ...]}, a row being [status, class, table,
                                        column, arguments JSON]; the last poll repeats; a version not
                                        listed has one finished row. Each kind of call counts its own polls.
  gitlab-rails runner -e production 'puts …'
                                        the three counts of core/remote/sh/upgrade/gate.sh: the
                                        number of unfinished rows (neither finished nor finalized) of
                                        that poll; any other code fails as rails does (undefined method)
  gitlab-backup create                  writes <host dir of /var/opt/gitlab>/backups/<epoch>_<yyyy_mm_dd>_<version>_gitlab_backup.tar
                                        and prints lines like the real one, ending "Backup <name> is
                                        done."; /.sandbox/state/gitlab.json {"backupFails": true} fails it,
                                        {"backupHangs": true} makes it wait 60 s (real time) first

and in a postgres container `sh -c 'pg_dump -U "$POSTGRES_USER" -Fc "$POSTGRES_DB"'` prints some
bytes (from the container's own environment; {"pgDumpFails": true} fails it). `docker cp
NAME:PATH DEST` copies from where PATH lives (a volume, else the container's own root).
"""

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time

SANDBOX = "/.sandbox"
STATE = SANDBOX + "/state/containers"
REGISTRY = SANDBOX + "/state/fleeting-registry.json"
DOWNLOADS = SANDBOX + "/state/fleeting-downloads.log"
HELD = SANDBOX + "/state/fleeting-held"
RELEASE = SANDBOX + "/state/fleeting-release"
RUNNER_FLEETING_SINCE = (16, 11)
GITLAB_IMAGE = re.compile(r"gitlab/gitlab-(ce|ee):(\d+\.\d+\.\d+)-(ce|ee)\.\d+$")
GITLAB_VERSION_FILE = "/opt/gitlab/embedded/service/gitlab-rails/VERSION"
MIGRATIONS = SANDBOX + "/state/gitlab-migrations.json"
MIGRATION_POLLS = STATE + "/.gitlab-migration-polls.json"
GITLAB_KNOBS = SANDBOX + "/state/gitlab.json"
# BatchedMigration's statuses (state machine of gitlab-org/gitlab's batched_migration.rb, 15.x on).
BATCHED_STATUSES = ["paused", "active", "finished", "failed", "finalizing", "finalized"]
RAILS_COUNTS = {
    "puts Gitlab::Database::BackgroundMigration::BatchedMigration.queued.count",
    "puts Gitlab::BackgroundMigration.remaining",
    "puts Gitlab::Database::BackgroundMigrationJob.pending.count",
}


def out(text=""):
    sys.stdout.write(text + "\n")


def err(text):
    sys.stderr.write(text + "\n")


def _state_file(name):
    return os.path.join(STATE, name + ".json")


def update_locked(path, change, create=False):
    """Reads `path` under an exclusive lock; change(data) returns (new bytes or None to keep, result)."""
    fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = b""
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
        new, result = change(data)
        if new is not None:
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, new)
        return result
    finally:
        os.close(fd)


def load(name):
    try:
        with open(_state_file(name)) as f:
            return json.load(f)
    except OSError:
        return None


# standin.py's runner of the real docker-compose (through the test process's server when it listens).
run_real_compose = None


def _resolved_config(forwarded):
    p = run_real_compose(forwarded + ["config"], quiet=True)
    if p.returncode != 0:
        return None
    # The sandbox's python runs isolated (-I -S); docker-compose's own python has PyYAML.
    j = subprocess.run(["/usr/bin/python3", "-c",
                        "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
                       input=p.stdout, stdout=subprocess.PIPE)
    return json.loads(j.stdout.decode())


def _volumes(svc):
    pairs = []
    for v in svc.get("volumes") or []:
        if isinstance(v, dict):
            src, dst = v.get("source"), v.get("target")
        else:
            parts = str(v).split(":")
            src, dst = (parts[0], parts[1]) if len(parts) >= 2 else (None, parts[0])
        if src and dst and src.startswith("/"):
            pairs.append([src.rstrip("/") or "/", dst.rstrip("/") or "/"])
    return pairs


def compose_up(forwarded, sub_args):
    """Record the services `up` (re)creates: the named ones, or all."""
    names = [a for a in sub_args if not a.startswith("-")]
    cfg = _resolved_config(forwarded)
    if not cfg:
        return
    for svc_name, svc in (cfg.get("services") or {}).items():
        if names and svc_name not in names:
            continue
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
        name = svc.get("container_name") or svc_name
        # A new file renamed into place: the previous one may belong to another user (root or group docker).
        tmp = "%s.%d.tmp" % (_state_file(name), os.getpid())
        with open(tmp, "w") as f:
            json.dump({"image": svc.get("image", ""), "env": {k: "" if v is None else str(v) for k, v in env.items()},
                       "volumes": _volumes(svc)}, f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, _state_file(name))


def host_path(state, name, path):
    """Where a container path lives in the sandbox: through a volume, else the container's own root."""
    for src, dst in sorted(state["volumes"], key=lambda p: -len(p[1])):
        if path == dst or path.startswith(dst.rstrip("/") + "/"):
            return src + path[len(dst.rstrip("/")):]
    return os.path.join(STATE, name + ".root") + path


def _runner_version(state):
    m = re.search(r":(?:[a-z]+-)?v?(\d+)\.(\d+)\.(\d+)$", state.get("image", ""))
    return tuple(int(x) for x in m.groups()) if m else None


def _split_ref(ref):
    slash, colon = ref.rfind("/"), ref.rfind(":")
    path, constraint = (ref[:colon], ref[colon + 1:]) if colon > slash else (ref, "latest")
    parts = path.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0]):
        registry, rest = parts[0], parts[1:]
    else:
        registry, rest = "registry.gitlab.com", parts
    repo = "/".join(rest) if len(rest) > 1 else "gitlab-org/fleeting/plugins/" + rest[0]
    return registry + "/" + repo, constraint


def _vkey(v):
    return tuple(int(x) for x in v.split("."))


def _matches(version, constraint):
    if constraint == "latest":
        return True
    want = constraint.split(".")
    return version.split(".")[:len(want)] == want


def _look_path(plugin_dir, ref):
    artifact, constraint = _split_ref(ref)
    base = os.path.join(plugin_dir, artifact)
    try:
        versions = [v for v in os.listdir(base) if re.match(r"^\d+\.\d+\.\d+$", v) and os.path.isfile(os.path.join(base, v, "plugin"))]
    except OSError:
        versions = []
    versions = sorted((v for v in versions if _matches(v, constraint)), key=_vkey)
    return os.path.join(base, versions[-1], "plugin") if versions else None


def _fleeting(state, name, env, args):
    config = env.get("CONFIG_FILE", "/etc/gitlab-runner/config.toml")
    i = 0
    while i < len(args) and args[i].startswith("-"):
        if args[i] in ("-c", "--config") and i + 1 < len(args):
            config = args[i + 1]
            i += 2
            continue
        i += 1
    sub = args[i] if i < len(args) else ""
    upgrade = "--upgrade" in args[i + 1:]
    try:
        with open(host_path(state, name, config)) as f:
            text = f.read()
    except OSError as e:
        err("FATAL: %s" % e)
        return 1
    runner = (re.findall(r'^\s*name\s*=\s*"([^"]*)"', text, re.M) or [""])[0]
    plugins = re.findall(r'^\s*plugin\s*=\s*"([^"]*)"', text, re.M)
    container_dir = env.get("FLEETING_PLUGIN_PATH") or "/root/.config/fleeting/plugins"
    plugin_dir = host_path(state, name, container_dir)
    to_container = lambda p: container_dir.rstrip("/") + p[len(plugin_dir.rstrip("/")):]
    code = 0
    for ref in plugins:
        found = _look_path(plugin_dir, ref)
        if sub == "list":
            if found:
                out("runner: %s, plugin: %s, path: %s" % (runner, ref, to_container(found)))
            else:
                err("runner: %s, plugin: %s, error: plugin not found" % (runner, ref))
                code = 1
            continue
        if sub != "install":
            err("stand-in: unknown fleeting subcommand %r" % sub)
            return 1
        if found and not upgrade:
            continue
        problem = _download(plugin_dir, ref, env)
        if problem:
            err("runner: %s, plugin: %s, install/update error:: %s" % (runner, ref, problem))
            code = 1
            continue
        out("runner: %s, plugin: %s, path: %s" % (runner, ref, to_container(_look_path(plugin_dir, ref))))
    return code


def _download(plugin_dir, ref, env):
    try:
        with open(REGISTRY) as f:
            reg = json.load(f)
    except OSError:
        reg = {"reachable": False}
    if reg.get("hold"):
        # Real time (the sandbox's scaled clock is /usr/local/bin/sleep only); bounded, so a test
        # that never releases fails instead of hanging.
        with open(HELD, "w") as f:
            f.write("%d\n" % os.getpid())
        deadline = time.monotonic() + 120
        while not os.path.exists(RELEASE):
            if time.monotonic() > deadline:
                return "stand-in: the held download was never released (no %s)" % RELEASE
            time.sleep(0.01)
    proxy = env.get("HTTPS_PROXY") or env.get("https_proxy") or ""
    host = _split_ref(ref)[0].split("/")[0]
    if not reg.get("reachable", False) or (reg.get("requireProxy") and proxy != reg["requireProxy"]):
        # Worst case for the caller: the error carries the proxy URL, credentials and all.
        if proxy:
            return 'Get "https://%s/v2/": proxyconnect tcp: via %s: dial tcp: connect: connection refused' % (host, proxy)
        return 'Get "https://%s/v2/": dial tcp: lookup %s: i/o timeout' % (host, host)
    artifact, constraint = _split_ref(ref)
    versions = sorted((v for v in reg.get("versions", {}).get(artifact, []) if _matches(v, constraint)), key=_vkey)
    if not versions:
        return "no version of %s matches %s" % (artifact, constraint)
    target = os.path.join(plugin_dir, artifact, versions[-1])
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, "plugin"), "w") as f:
        f.write("#!/bin/sh\n# stand-in fleeting plugin %s %s\n" % (artifact, versions[-1]))
    os.chmod(os.path.join(target, "plugin"), 0o755)
    with open(DOWNLOADS, "a") as f:
        f.write("%s:%s\n" % (artifact, versions[-1]))
    return None


def _gitlab_version(state):
    m = GITLAB_IMAGE.search(state.get("image", ""))
    if not m:
        return None
    return m.group(2) + ("-ee" if m.group(1) == "ee" else "")


def _json_or(path, default):
    """A test's knob file (written whole by sandbox.ts), or `default` when it is absent or empty."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def _gitlab_knobs():
    return _json_or(GITLAB_KNOBS, {})


def _migration_rows(version, kind):
    """This poll's rows for `version` (numbers only): one script entry per call of this kind, the last repeats."""
    polls = _json_or(MIGRATIONS, {}).get(version.split("-")[0])
    if not polls:
        return [["finished", "StandinFinishedMigration", "users", "id", "[]"]]
    key = "%s %s" % (version, kind)

    def count(data):
        counts = json.loads(data) if data.strip() else {}
        n = counts.get(key, 0)
        counts[key] = n + 1
        return json.dumps(counts).encode(), n

    n = update_locked(MIGRATION_POLLS, count, create=True)
    return polls[min(n, len(polls) - 1)]


def _unfinished(rows):
    return sum(1 for r in rows if r[0] not in ("finished", "finalized"))


def _gitlab_backup(state, name, version):
    stamp = lambda: time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    out("%s -- Dumping database ... " % stamp())
    if _gitlab_knobs().get("backupFails"):
        err("pg_dump: error: connection to server at \"gitlab-db\" (172.18.0.3), port 5432 failed: FATAL:  sorry, too many clients already")
        err("Backup failed")
        return 1
    if _gitlab_knobs().get("backupHangs"):
        # Real time (the scaled clock is /usr/local/bin/sleep only), for a caller's `timeout` to end.
        sys.stdout.flush()
        time.sleep(60)
    out("Dumping PostgreSQL database gitlab ... [DONE]")
    out("%s -- Dumping database ... done" % stamp())
    for part in ("repositories", "uploads", "builds", "artifacts", "pages", "lfs", "terraform_state", "registry", "packages"):
        out("%s -- Dumping %s ... " % (stamp(), part))
        out("%s -- Dumping %s ... done" % (stamp(), part))
    now = time.time()
    backup = "%d_%s_%s" % (int(now), time.strftime("%Y_%m_%d", time.gmtime(now)), version)
    tar = backup + "_gitlab_backup.tar"
    d = host_path(state, name, "/var/opt/gitlab/backups")
    os.makedirs(d, exist_ok=True)
    out("%s -- Creating backup archive: %s ... " % (stamp(), tar))
    with open(os.path.join(d, tar), "wb") as f:
        f.write(("stand-in GitLab backup %s\n" % backup).encode().ljust(10240, b"\0"))
    out("%s -- Creating backup archive: %s ... done" % (stamp(), tar))
    out("%s -- Uploading backup archive to remote storage  ... [SKIPPED]" % stamp())
    out("%s -- Deleting old backups ... [SKIPPED]" % stamp())
    out("%s -- Warning: Your gitlab.rb and gitlab-secrets.json files contain sensitive data " % stamp())
    out("and are not included in this backup. You will need these files to restore a backup.")
    out("Please back them up manually.")
    out("%s -- Backup %s is done." % (stamp(), backup))
    return 0


def _gitlab(state, name, version, cmd):
    if cmd == ["cat", GITLAB_VERSION_FILE]:
        out(version)
        return 0
    if cmd == ["gitlab-rake", "gitlab:background_migrations:status"]:
        rows = _migration_rows(version, "rake")
        width = max(len(s) for s in BATCHED_STATUSES)
        out("Database: main")
        for status, job_class, table, column, arguments in rows:
            sys.stdout.write("%-*s | %s\n" % (width, status, ",".join([job_class, table, column, arguments])))
        return 0
    if cmd[:2] == ["gitlab-rails", "runner"]:
        rest = cmd[2:]
        if rest[:2] == ["-e", "production"]:
            rest = rest[2:]
        code = rest[0] if len(rest) == 1 else ""
        if code not in RAILS_COUNTS:
            err("Please specify a valid ruby command or the path of a script to run.")
            err("Run 'bin/rails runner -h' for help.")
            err("")
            err("undefined method `%s' for main:Object" % (code.split()[-1] if code.split() else ""))
            return 1
        out(str(_unfinished(_migration_rows(version, code))))
        return 0
    if cmd == ["gitlab-backup", "create"]:
        return _gitlab_backup(state, name, version)
    return None


def _pg_dump(state, env, cmd):
    if cmd[:2] != ["sh", "-c"] or len(cmd) != 3 or "pg_dump" not in cmd[2] or not state.get("image", "").startswith("postgres:"):
        return None
    if cmd[2] != 'pg_dump -U "$POSTGRES_USER" -Fc "$POSTGRES_DB"':
        err("stand-in: pg_dump is emulated only as pg_dump -U \"$POSTGRES_USER\" -Fc \"$POSTGRES_DB\": %r" % cmd[2])
        return 127
    user, db = env.get("POSTGRES_USER", ""), env.get("POSTGRES_DB", "")
    if _gitlab_knobs().get("pgDumpFails") or not user or not db:
        err('pg_dump: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: FATAL:  role "%s" does not exist' % user)
        return 1
    sys.stdout.flush()
    sys.stdout.buffer.write(b"PGDMP\x01\x0e\x00\x04\x08\x01\x01" + ("stand-in custom-format dump of %s by %s\n" % (db, user)).encode().ljust(4096, b"\0"))
    return 0


def _recorded(name, containers, missing_state_code):
    """(state, None) for a container compose created, else (None, the exit code) after docker's message."""
    if name not in containers:
        err("Error response from daemon: No such container: %s" % name)
        return None, 1
    state = load(name)
    if state is None:
        err("stand-in: container %s has no recorded state; the test must run compose up for it first" % name)
        return None, missing_state_code
    return state, None


def docker_cp(args, containers):
    """docker cp NAME:PATH DEST (from a container only)."""
    paths = [a for a in args if not a.startswith("-")]
    if len(paths) != 2:
        err('"docker cp" requires exactly 2 arguments.')
        return 1
    src, dst = paths
    if ":" not in src:
        err("stand-in: docker cp emulates copies out of a container only")
        return 1
    name, path = src.split(":", 1)
    state, code = _recorded(name, containers, 1)
    if state is None:
        return code
    hp = host_path(state, name, path)
    if not os.path.isfile(hp):
        err("Error response from daemon: Could not find the file %s in container %s" % (path, name))
        return 1
    if os.path.isdir(dst):
        dst = os.path.join(dst, os.path.basename(path))
    shutil.copyfile(hp, dst)
    shutil.copymode(hp, dst)
    return 0


def docker_exec(args, containers):
    env_extra, i = {}, 0
    while i < len(args) and args[i].startswith("-"):
        a = args[i]
        if a in ("-e", "--env") and i + 1 < len(args):
            k, _, v = args[i + 1].partition("=")
            env_extra[k] = v
            i += 2
        elif a in ("-u", "--user", "-w", "--workdir"):
            i += 2
        else:
            i += 1
    if i >= len(args):
        err('"docker exec" requires at least 2 arguments.')
        return 1
    name, cmd = args[i], args[i + 1:]
    state, code = _recorded(name, containers, 125)
    if state is None:
        return code
    env = dict(state["env"], **env_extra)
    if not cmd:
        err('"docker exec" requires at least 2 arguments.')
        return 1
    gitlab = _gitlab_version(state)
    if gitlab:
        code = _gitlab(state, name, gitlab, cmd)
        if code is not None:
            return code
    code = _pg_dump(state, env, cmd)
    if code is not None:
        return code
    if cmd[0] == "printenv":
        if len(cmd) == 1:
            for k, v in env.items():
                out("%s=%s" % (k, v))
            return 0
        code = 0
        for k in cmd[1:]:
            if k in env:
                out(env[k])
            else:
                code = 1
        return code
    if cmd[0] == "gitlab-runner":
        version = _runner_version(state)
        if version is None:
            err('OCI runtime exec failed: exec: "gitlab-runner": executable file not found in $PATH')
            return 126
        if cmd[1:2] in (["--version"], ["-v"]):
            out("Version:      %d.%d.%d" % version)
            out("Git revision: standin")
            out("OS/Arch:      linux/amd64")
            return 0
        if cmd[1:2] == ["fleeting"]:
            if version[:2] < RUNNER_FLEETING_SINCE:
                err("Command fleeting not found.")
                return 1
            return _fleeting(state, name, env, cmd[2:])
    err("stand-in: docker exec does not emulate %r" % cmd)
    return 127
