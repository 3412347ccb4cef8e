#!/usr/bin/env python3
"""Runs a command in a pseudo-terminal and answers its questions, like `expect`.

Usage: ptyDrive.py <script.json> -- <command> [args...]
script.json: {"timeout": seconds, "steps": [{"expect": "<regex>", "send": "<text>"}, ...]}

Each step waits until <regex> matches the terminal output (ANSI escapes removed) written since the
previous step matched, then types <text> ("\r" is Enter). The transcript goes to stdout; the exit code
is the command's, or 124 if a step or the command times out (the unmatched step is named on stderr).
Used by test/helper/interactiveDiskprep.test.ts: jest has no terminal, and no npm native module is needed.
"""
import json, os, pty, re, select, signal, sys, time

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[78]|\r")

def main():
    sep = sys.argv.index("--")
    script = json.load(open(sys.argv[1]))
    cmd = sys.argv[sep + 1:]
    deadline = time.time() + script.get("timeout", 120)
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    out, raw, since, steps = "", "", 0, list(script["steps"])
    status = None
    while True:
        if time.time() > deadline:
            sys.stdout.write(raw)
            sys.stderr.write("ptyDrive: timed out waiting for %r\n" % (steps[0]["expect"] if steps else "exit"))
            os.kill(pid, signal.SIGKILL)
            sys.exit(124)
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 65536).decode("utf-8", "replace")
            except OSError:
                data = ""
            if data:
                raw += data
                out = ANSI.sub("", raw)
        if steps and re.search(steps[0]["expect"], out[since:]):
            m = re.search(steps[0]["expect"], out[since:])
            since += m.end()
            time.sleep(0.2)  # let the prompt finish rendering before typing
            os.write(fd, steps[0]["send"].encode())
            steps.pop(0)
            continue
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            # drain what is left
            try:
                while True:
                    r, _, _ = select.select([fd], [], [], 0.2)
                    if not r:
                        break
                    data = os.read(fd, 65536).decode("utf-8", "replace")
                    if not data:
                        break
                    raw += data
            except OSError:
                pass
            status = os.waitstatus_to_exitcode(st)
            break
    sys.stdout.write(ANSI.sub("", raw))
    if steps:
        sys.stderr.write("ptyDrive: the command exited before %r\n" % steps[0]["expect"])
    sys.exit(status if status is not None else 1)

main()
