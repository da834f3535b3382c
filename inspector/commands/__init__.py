"""The headless subcommands of ``inspector``: one module each, registered in ``cli.SUBCOMMANDS``.

A command module has ``DESCRIPTION``, ``add_arguments(parser)`` and ``run(options) -> int``,
and may set ``TROUBLE_EXIT`` (the status for an unreadable input; 1 unless it says otherwise).
"""
