"""The command line: ``csp-secure-app <task> [flags]`` (pip's ``cli/``: the face, nothing else).

``main`` is the console command's entry point (set-up before anything heavy is imported, a
fast exit), ``program`` invoke's ``Program`` with our parse-error contract,
``tasks`` the product's tasks (parse, one call into a flow, print), ``output`` the one place
where results, progress and errors are written and errors become exit codes, ``flags`` the
checks a flag's value needs before anything runs. The clone's ``tasks.py`` re-exports the tasks
so ``invoke <task>`` keeps working there.
"""
