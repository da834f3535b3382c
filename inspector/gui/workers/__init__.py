"""Background work: the reader process, plot threads, the load scheduler and what crosses the process boundary.

Nothing here may import Qt at module level except the modules that drive workers from the window
(``process_worker``, ``plot_runner``, ``load_scheduler``): a spawned child imports ``child_jobs`` and
``transfer`` only."""
