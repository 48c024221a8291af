"""Suite-wide set-up shared by every test package."""

from __future__ import annotations

import signal

# A suite started in the background by a non-interactive shell (`cmd &`, some CI runners)
# inherits SIGINT *ignored*, and an ignored signal stays ignored across exec: every CLI child
# would then shrug off the Ctrl-C that the interrupt tests send, and those tests would fail or
# hang. A handled signal is reset to the default on exec, so the children get Python's usual
# KeyboardInterrupt again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
