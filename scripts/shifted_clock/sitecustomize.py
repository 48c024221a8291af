"""Moves this Python process's wall clock ``SHIFT_CLOCK_DAYS`` days ahead.

CI's any-date run (``.ci/run``, issue #18) puts this folder on ``PYTHONPATH``. Python imports
``sitecustomize`` at start-up, so the test run and every Python process it starts (the CLI, the
emulator's and the benches' children) live that many days ahead: ``time.time``,
``datetime.now``, ``date.today`` and the rest move (time-machine, ``tick=True``), while the
monotonic clock, sleeps and timed waits stay real — as on a machine that really is on that
date. Unset or empty, nothing happens. A Python without time-machine (the system ``python3``
that runs ``dev.py``) is left alone; ``tests/test_shifted_clock.py`` checks the shift is on
in the test process and in a child.

Why not libfaketime (``faketime -f +400d``), which this run used before:

* it shifts CLOCK_MONOTONIC but not Python 3.11's ``sem_clockwait``, so a timed wait that should
  time out (``threading.Event().wait(0.3)``) never returned — measured: killed after 10 s;
* the process tree shares one semaphore of its own, and CI runs hung at random (a CLI child
  stopped, with no Python stack to show, twice in three runs); redis-server would not even
  start under it.

A hand-written hook (not a pytest plugin) because the CLI runs as subprocesses, which a plugin
in the test process cannot reach; ``sitecustomize`` is Python's documented start-up hook.
"""

from __future__ import annotations

import os

_days = os.environ.get("SHIFT_CLOCK_DAYS", "").strip()
if _days:
    try:
        import time_machine
    except ImportError:  # not the project's .venv: leave this interpreter alone
        pass
    else:
        import datetime as _dt

        _to = _dt.datetime.now(_dt.UTC) + _dt.timedelta(days=float(_days))
        time_machine.travel(_to, tick=True).start()
