"""pytest plugin (entry point ``pytest11``): the ``kis_emulator`` fixture.

Installing stock-manager makes the fixture available in any pytest suite, so a user can test
their own KIS bot against a local KIS-compatible server over real sockets::

    def test_my_bot(kis_emulator):
        run_my_bot(**kis_emulator.credentials)        # base_url, app_key, app_secret, account
        assert kis_emulator.state.snapshot()["reservations"]

The emulator starts in real mode with fresh demo credentials and its clock running from a
moment inside the reservation entry window (so reservations work whatever the wall-clock
hour). Everything else is at hand on the yielded :class:`ServedEmulator`: ``.faults.add(...)``,
``.clock.freeze(...)``/``.advance(...)``, ``.process_day(...)``, ``.calendar``, ``.requests``.

WebSocket notices are served on the same port (``ws://127.0.0.1:<port>/tryitout``, approval
key from ``POST /oauth2/Approval``); ``kis_emulator.hts_id`` is the HTS ID to subscribe with,
``kis_emulator.ws_url`` the URL and ``kis_emulator.notices`` the hub (sessions, counters).
A user's own bot can be tested against execution notices with no account.

Configure one test with a marker (keywords go to :class:`EmulatorConfig`)::

    @pytest.mark.kis_emulator(mode="paper", rate_limit_per_s=None, window=False)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from stock_manager.emulator.config import EmulatorConfig
from stock_manager.emulator.krx_calendar import start_inside_window
from stock_manager.emulator.server import ServedEmulator, run_emulator


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``kis_emulator`` marker."""
    config.addinivalue_line(
        "markers", "kis_emulator(**config): EmulatorConfig keywords for the kis_emulator fixture"
    )


def emulator_config(**overrides: Any) -> EmulatorConfig:
    """The fixture's configuration: demo credentials, clock inside the reservation window."""
    values: dict[str, Any] = {}
    if "clock" not in overrides and "start_at" not in overrides:
        closed, late = overrides.get("closed_days", ()), overrides.get("late_days", ())
        values["start_at"] = start_inside_window(closed, late)
    values.update(overrides)
    return EmulatorConfig.demo(**values)


@pytest.fixture
def kis_emulator(request: pytest.FixtureRequest) -> Iterator[ServedEmulator]:
    """A KIS emulator on 127.0.0.1 (real sockets) for one test; stopped afterwards."""
    marker = request.node.get_closest_marker("kis_emulator")
    overrides = dict(marker.kwargs) if marker else {}
    with run_emulator(emulator_config(**overrides)) as served:
        yield served
