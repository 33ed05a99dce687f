"""The console command's entry point, ``csp-secure-app`` (``[project.scripts]`` in
pyproject.toml; ``python -m scripts.cli`` runs it too).

Kept apart from ``program`` so that what it sets up comes before the SDKs (and invoke, when the
command line needs its parser) are imported: a task's cost is mostly its imports
(bench/README.md).
"""

from __future__ import annotations

#: Allocations between two collections of the young generation (Python's default is 700).
YOUNG_COLLECTION_EVERY = 100_000
#: What a shell reports for a process ended by SIGPIPE (128 + 13), as ``head`` expects.
EXIT_BROKEN_PIPE = 141


def main() -> None:
    """Run one task and leave.

    While it imports the SDKs, a task allocates a few hundred thousand objects that
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
        code = run(sys.argv[1:])
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        # The reader (``| head``) went away: nothing is left to tell it. Quiet, as POSIX tools
        # are, with the exit status a shell shows for SIGPIPE.
        code = EXIT_BROKEN_PIPE
    os._exit(code)


def run(argv: list[str]) -> int:
    """One command line's exit code: a plain one (one task, its own long flags) calls the task
    without importing invoke (``scripts.cli.command``); any other goes to invoke's parser."""
    from scripts.cli import tasks
    from scripts.cli.command import commands, plain_call

    try:
        call = plain_call(argv, commands(tasks))
        if call is not None:
            command, values = call
            command(None, **values)
        else:
            from scripts.cli.program import NAME, program

            program().run([NAME, *argv])
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    return 0
