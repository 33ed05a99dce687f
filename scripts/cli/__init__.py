"""The command line: ``csp-secure-app <task> [flags]`` (pip's ``cli/``: the face, nothing else).

``main`` is the console command's entry point (set-up before anything heavy is imported, a
fast exit), ``command`` a task's flags as its signature declares them and the direct run of a
plain command line (one task and its own long flags) without importing invoke, ``program``
invoke's ``Program`` for every other command line, with our parse-error contract,
``tasks`` the product's tasks (parse, one call into a flow, print), ``output`` the one place
where results, progress and errors are written and errors become exit codes, ``flags`` the
checks a flag's value needs before anything runs. The clone's ``tasks.py`` gives invoke the same
tasks (its ``ns``) so ``invoke <task>`` keeps working there.
"""
