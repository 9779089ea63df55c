"""An application whose starts go well or badly on demand, for tests of the health rule.

Its `app.py` prints "app VERSION ARGS..." and then does what the environment variable
HEALTH_PLAN (JSON, {version: plan}) says for its own version; versions not named run fine
and exit 0. A plan is a list of steps:
    "embed"        Updater.from_config().start() (as an application embeds it); prints
                   "notice FAILED VERSION" when a rollback notice is waiting
    "confirm"      updater.confirm_healthy()
    "crash"        exit with code 3 at once
    "exit:N"       exit with code N
    "sleep:S"      sleep S seconds
    "kill:SIG"     die by signal SIG (e.g. "kill:SIGSEGV")
    "wait-term:N"  print "waiting PID", then wait for SIGTERM/SIGINT: print "got SIGNAME" and
                   exit with code N
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.bundles import write_app
from tests.support.publisher import Publisher, release_bundle

HEALTH_APP = """\
import json, os, pathlib, signal, sys, time
here = pathlib.Path(__file__).resolve().parent
version = json.loads((here / '.update' / 'release.json').read_text())['version']
print('app', version, *sys.argv[1:], flush=True)
updater = None
for step in json.loads(os.environ.get('HEALTH_PLAN', '{}')).get(version, []):
    name, _, arg = step.partition(':')
    if name == 'embed':
        from client import Updater
        updater = Updater.from_config()
        updater.startup_delay = 3600  # no background check: only the health rule runs
        updater.start()
        notice = updater.rollback_notice()
        if notice:
            print('notice', notice['failed_version'], notice['version'], flush=True)
    elif name == 'confirm':
        updater.confirm_healthy()
    elif name == 'crash':
        sys.exit(3)
    elif name == 'exit':
        sys.exit(int(arg))
    elif name == 'sleep':
        time.sleep(float(arg))
    elif name == 'kill':
        os.kill(os.getpid(), getattr(signal, arg))
    elif name == 'wait-term':
        def stop(signum, frame, arg=arg):
            print('got', signal.Signals(signum).name, flush=True)
            sys.exit(int(arg or 0))
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        print('waiting', os.getpid(), flush=True)
        while True:
            time.sleep(0.05)
"""


def release_health_app(publisher: Publisher, *args: str) -> str:
    """Release the health app with `repo-tools release ARGS...`; its stdout."""
    write_app(publisher.bundle, " ".join(args))
    (publisher.bundle / "app.py").write_text(HEALTH_APP)
    return release_bundle(publisher.repo, publisher.keys, publisher.bundle, *args)


def plan_env(**plans: list[str]) -> dict[str, str]:
    """The environment for a start: plans by version, "1_1_0" standing for "1.1.0"."""
    plan = {version.replace("_", "."): steps for version, steps in plans.items()}
    return {**os.environ, "HEALTH_PLAN": json.dumps(plan)}


def start_app(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Start the installed app as a user would without `launch` (its `current` entry point)."""
    command = [sys.executable, str(root / "current" / "app.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
