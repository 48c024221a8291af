"""The ``stock-manager`` command line (typer + rich).

Layout (every module below ``main`` is imported only when a command runs)::

    main.py      entry point ``run()``: fast top-level help, exception → exit-code mapping
    _meta.py     help texts and the command table (no imports: shared by the fast help)
    app.py       the typer application, global options, sub-command registration
    _runtime.py  global state, consoles, configuration/profile loading, confirmation
    _errors.py   exit codes and the one-line error message
    _render.py   rich tables and JSON conversion
    resv.py      ``resv place|list|show|modify|cancel|cancel-all|reconcile``
    admin.py     ``journal``, ``token``, ``tr-id``, ``config``, ``emulator``
    demo.py      ``demo``: the whole lifecycle against the embedded emulator

The CLI holds no HTTP or business logic: it parses, confirms, calls
:mod:`stock_manager.adapters.broker.kis` and formats what comes back.
"""
