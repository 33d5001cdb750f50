"""Fork server for the compose oracle (test/helpers/composeOracle.ts).

Importing docker-compose takes ~0.7 s of the ~0.8 s a `docker-compose config -q` costs. This
process imports it once, then forks a child per request that runs docker-compose's own main()
with the request's argv, cwd and environment, exactly as /usr/bin/docker-compose would: the
oracle's verdict is unchanged, only the import is shared.

Protocol, one request per connection on the Unix socket argv[1]: the client sends a JSON object
{"cwd", "env", "args", "stdout", "stderr"} and closes its write side; the server answers
{"status": <exit code>} once the child has written its output to the two named files.
"""
import json
import os
import socket
import sys
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "host"))
from composeServer import compose_status  # noqa: E402  (imports docker-compose)

SOCK = sys.argv[1]
PARENT = os.getppid()


def run_child(req):
    code = 1
    try:
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        for fd, path in ((1, req["stdout"]), (2, req["stderr"])):
            f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(f, fd)
            os.close(f)
        code = compose_status(req["args"])
    except BaseException:  # the oracle itself broke: say so on stderr, exit non-zero
        traceback.print_exc()
        code = 99
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve():
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(SOCK)
    srv.listen(16)
    # Wake up now and then to notice that the test process is gone (no orphan left behind).
    srv.settimeout(2.0)
    print("ready", flush=True)
    while True:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            if os.getppid() != PARENT:
                break
            continue
        with conn:
            conn.settimeout(None)
            data = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            req = json.loads(data)
            pid = os.fork()
            if pid == 0:
                srv.close()
                conn.close()
                run_child(req)
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            conn.sendall(json.dumps({"status": code}).encode())
    srv.close()
    os.unlink(SOCK)


if __name__ == "__main__":
    serve()
