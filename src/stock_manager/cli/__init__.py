"""The ``stock-manager`` command line (typer + rich).

Layout (a command's module is imported only when that command runs)::

    main.py          entry point ``run()``: the one parser, exception → exit-code mapping
    _meta.py         help texts and the command table (name → module, one-line help)
    app.py           the typer application: global options, the lazily loaded command table
    _typer.py        typer as every module uses it (literal help texts), shared option types
    _runtime.py      global state, consoles, configuration/profile loading, confirmation
    _errors.py       exit codes and the one-line error message
    _render.py       rich tables and the streamed long listing
    demo.py          ``demo``: the whole lifecycle against the embedded emulator
    resv.py          ``resv place|list|show|modify|cancel|cancel-all|reconcile``
    resv_manager.py  ``resv report|cancel-order|modify-order|reconcile-orders|plan|apply``
    watch.py         ``watch``       calendar.py  ``calendar``    journal.py  ``journal``
    token.py         ``token``       tr_id.py     ``tr-id``       api.py      ``api``
    config.py        ``config``      emulator.py  ``emulator``    mcp_server.py  ``mcp``

The CLI holds no HTTP or business logic: it parses, confirms, calls
:mod:`stock_manager.adapters.broker.kis` and formats what comes back.
"""
