"""docker-compose for the sandboxes, imported once per test process.

The stand-ins validate every compose file with Debian's real docker-compose (standin.py
run_real_compose), and importing it costs ~0.8 s of CPU per call: two thirds of the host suite's
CPU time went there. This process imports it once. For each sandbox, the test process asks it
(one JSON line on stdin) to fork a server that enters the sandbox's mount namespace and root and
listens on the sandbox's /.sandbox/compose.sock. For each call, that server forks a child that
takes the caller's uid, gids, working directory, environment and stdin/stdout/stderr (passed as
file descriptors) and runs docker-compose's own main() with the caller's arguments, as
/usr/bin/docker-compose would: the verdicts and messages are docker-compose's, only the import
is shared.

stdin:  {"ns": "/proc/<pid>/ns/mnt", "root": "<sandbox root on the host>", "sock": "/.sandbox/compose.sock"}
stdout: {"pid": <server pid>} or {"error": "..."}, one line per request.
Call protocol: the client sends one JSON object {"args", "cwd", "env", "uid", "gid", "groups"}
with its three fds (SCM_RIGHTS) and shuts down its write side; the server answers {"status": n}.
"""
import ctypes
import json
import os
import socket
import sys
import traceback

from compose.cli.main import main as compose_main

CLONE_NEWNS = 0x00020000
ZYGOTE = os.getpid()


def enter(ns_path, root):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(ns_path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNS) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns %s: %s" % (ns_path, os.strerror(e)))
    finally:
        os.close(fd)
    os.chroot(root)
    os.chdir("/")


def compose_status(args):
    """docker-compose's own main() with these arguments, ended as /usr/bin/docker-compose ends: its
    exit status. An uncaught error prints its traceback from main() on (the binary's shows its
    entry-point line above it) and exits 1, as the interpreter does. Also used by the unit tests'
    oracle (test/helpers/composeOracleServer.py)."""
    sys.argv = ["docker-compose"] + args
    try:
        compose_main()
        return 0
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException as e:
        traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        return 1


def run_call(req, fds):
    code = 1
    try:
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
            os.close(fd)
        os.setgroups(req["groups"])
        os.setgid(req["gid"])
        os.setuid(req["uid"])
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        code = compose_status(req["args"])
    except BaseException:  # the server itself broke: say so on the caller's stderr
        traceback.print_exc()
        code = 99
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve(sock_path):
    try:
        os.unlink(sock_path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    # Callers are root or members of group docker, as for the real docker socket.
    os.chmod(sock_path, 0o666)
    srv.listen(16)
    srv.settimeout(2.0)
    return srv


def sandbox_server(srv):
    while True:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            if os.getppid() != ZYGOTE:  # the test process (and its zygote) are gone
                os._exit(0)
            continue
        with conn:
            conn.settimeout(None)
            data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
            while True:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
            req = json.loads(data)
            pid = os.fork()
            if pid == 0:
                srv.close()
                conn.close()
                run_call(req, fds)
            for fd in fds:
                os.close(fd)
            _, status = os.waitpid(pid, 0)
            conn.sendall(json.dumps({"status": os.waitstatus_to_exitcode(status)}).encode())


def zygote():
    for line in sys.stdin:
        req = json.loads(line)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            # Not the test process's pipes: those are the zygote's alone.
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 1)
            os.close(null)
            try:
                enter(req["ns"], req["root"])
                srv = serve(req["sock"])
                os.write(w, b"ok")
            except BaseException as e:
                os.write(w, ("%s: %s" % (type(e).__name__, e)).encode())
                os._exit(1)
            os.close(w)
            sandbox_server(srv)
        os.close(w)
        status = b""
        while True:
            chunk = os.read(r, 4096)
            if not chunk:
                break
            status += chunk
        os.close(r)
        if status == b"ok":
            answer = {"pid": pid}
        else:
            os.waitpid(pid, 0)
            answer = {"error": status.decode(errors="replace")}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
        # Reap servers whose sandboxes were stopped.
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass


if __name__ == "__main__":
    zygote()
