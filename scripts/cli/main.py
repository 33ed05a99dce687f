"""The console command's entry point, ``csp-secure-app`` (``[project.scripts]`` in
pyproject.toml; ``python -m scripts.cli`` runs it too).

Kept apart from ``program`` so that what it sets up comes before invoke and the SDKs are
imported: a task's cost is mostly its imports (bench/README.md).
"""

from __future__ import annotations

#: Allocations between two collections of the young generation (Python's default is 700).
YOUNG_COLLECTION_EVERY = 100_000
#: What a shell reports for a process ended by SIGPIPE (128 + 13), as ``head`` expects.
EXIT_BROKEN_PIPE = 141


def main() -> None:
    """Run one task and leave.

    While it imports invoke and the SDKs, a task allocates a few hundred thousand objects that
    live as long as it does; at the default threshold the young generation is collected about
    110 times for about 500 objects freed in all (15-30 ms of a 0.3 s task). One young
    collection per 100,000 allocations still bounds the memory of a long run (mfa-report over
    100,000 users).

    Ends with ``os._exit`` once stdout and stderr are flushed: the interpreter's teardown
    (freeing every module the SDKs loaded) costs 80-100 ms a task and does nothing a task
    needs; every file a task writes is closed before it returns."""
    import gc
    import os
    import sys

    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])
    try:
        from scripts.cli.program import program

        try:
            program().run()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        # The reader (``| head``) went away: nothing is left to tell it. Quiet, as POSIX tools
        # are, with the exit status a shell shows for SIGPIPE.
        code = EXIT_BROKEN_PIPE
    os._exit(code)
