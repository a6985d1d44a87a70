"""Commands in a process of their own, forked from the test process instead of started from scratch.

`python -m diffusion_course ...` spends about 3 s importing torch and diffusers before it does anything; the suite
starts some sixty such commands. A fork of the test process, which has imported them already, starts in milliseconds
and is still a separate process: its own exit status, stdout and stderr, environment and working directory; it can be
killed with a real SIGKILL. `run` mirrors `subprocess.run(..., capture_output=True, text=True)`, `start` a `Popen`.
Argument lists are the interpreter's: `["-m", "diffusion_course", "sample", ...]`, `["-c", CODE, *args]` or
`[SCRIPT, *args]`. What a fresh interpreter would give and a fork would not is set again in the child: a new random
global torch seed, the thread count from `OMP_NUM_THREADS`, default signal handlers. Tests of import-time behaviour
(which modules a command imports, the console script itself) keep a real `subprocess`.
"""
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import time
import traceback

def _exec(argv):
    "Run `argv` as the interpreter would; returns the exit code."
    try:
        if argv[0] == "-m":
            sys.argv = [argv[1], *argv[2:]]
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        elif argv[0] == "-c":
            sys.argv = ["-c", *argv[2:]]
            exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})
        else:
            sys.argv, sys.path[0] = list(argv), os.path.dirname(os.path.abspath(argv[0]))
            runpy.run_path(argv[0], run_name="__main__")
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int): return e.code or 0
        print(e.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _child(argv, env, cwd, out, err):
    "In the forked child: become a fresh command (streams, environment, directory, seed, signals), run it, exit."
    code = 1
    try:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0); os.dup2(out.fileno(), 1); os.dup2(err.fileno(), 2)
        sys.stdin = sys.__stdin__ = open(0, closefd=False)
        sys.stdout = sys.__stdout__ = open(1, "w", buffering=1, closefd=False)
        sys.stderr = sys.__stderr__ = open(2, "w", buffering=1, closefd=False)
        os.environ.clear(); os.environ.update(env)
        os.chdir(cwd)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        import torch
        torch.seed()                     # a fresh interpreter's global generator starts from a random seed too
        torch.set_num_threads(int(env.get("OMP_NUM_THREADS", torch.get_num_threads())))
        code = _exec(argv)
    finally:
        try: sys.stdout.flush(); sys.stderr.flush()
        finally: os._exit(code)          # never the test process's exit handlers


# Forking a process that has imported torch is safe on Linux; elsewhere (macOS' system libraries refuse to run in a
# forked child), or with DC_TEST_NO_FORK=1, each command starts as a fresh interpreter instead: slower, same results.
FORK = sys.platform.startswith("linux") and os.environ.get("DC_TEST_NO_FORK", "") in ("", "0")


class Forked:
    "A started command, as much of `subprocess.Popen` as the tests use; its output is read once it has ended."
    def __init__(self, argv, env=None, cwd=None):
        self.args, self.returncode, self._popen = argv, None, None
        self._out, self._err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        env, cwd = dict(os.environ if env is None else env), str(cwd or os.getcwd())
        sys.stdout.flush(); sys.stderr.flush()
        if not FORK:
            self._popen = subprocess.Popen([sys.executable, *argv], stdin=subprocess.DEVNULL, stdout=self._out,
                                           stderr=self._err, env=env, cwd=cwd)
            self.pid = self._popen.pid
            return
        self.pid = os.fork()
        if self.pid == 0: _child(argv, env, cwd, self._out, self._err)

    def poll(self):
        if self.returncode is None and self._popen is not None: self.returncode = self._popen.poll()
        elif self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid: self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout=None):
        t0 = time.time()
        while self.poll() is None:
            if timeout is not None and time.time() - t0 > timeout: raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(0.01)
        return self.returncode

    def send_signal(self, sig):
        if self.poll() is None: os.kill(self.pid, sig)

    def kill(self): self.send_signal(signal.SIGKILL)

    def output(self) -> tuple:
        "(stdout, stderr) as text."
        return tuple(f.seek(0) or f.read().decode(errors="replace") for f in (self._out, self._err))


def start(argv, env=None, cwd=None) -> Forked:
    return Forked([str(a) for a in argv], env, cwd)


def run(argv, env=None, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    p = start(argv, env, cwd)
    try: p.wait(timeout)
    finally:
        if p.poll() is None: p.kill(); p.wait()
    return subprocess.CompletedProcess(p.args, p.returncode, *p.output())
