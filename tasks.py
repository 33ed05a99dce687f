"""Thin invoke tasks over ``scripts/``: parse, call, print.

Each task checks its flags, resolves its inputs (``scripts.inputs``: flag, then environment,
then stack output), makes one call into its flow (``scripts/flows/``) and prints what it returns.
The flows decide what to say; this is the ONLY place where errors become output and exit codes
(table: ``foundation/errors.py``, documented in the README). stdout carries only a task's result
(settings, JSON, the plan), so a pipeline can parse it; progress, advice and errors go to stderr.
Nothing heavy is imported at module level: ``invoke --list`` must stay fast.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from scripts.inputs import debug_requested
from scripts.local.process import harden

harden()  # core dumps off for every task, before anything reads a secret (scripts/local/process.py)
ROOT = Path(__file__).resolve().parent
F = TypeVar("F", bound=Callable[..., Any])
# The SDKs log warnings (sometimes quoting server replies) through logging's last-resort handler
# straight to stderr. Our one-line errors say what matters; SECURE_APP_DEBUG=1 shows the rest.
if not debug_requested():
    logging.getLogger().addHandler(logging.NullHandler())

#: Long flags only: automatic short flags collide (``-h`` would be --show-secrets, not help).
cli = functools.partial(task, auto_shortflags=False)


def err(line: str) -> None:
    """Progress, advice and errors on stderr; control characters from outside escaped."""
    from foundation.text import printable

    print(printable(line, keep_newlines=True), file=sys.stderr, flush=True)


def out(text: str) -> None:
    """A task's result on stdout: it may quote a tag, a server reply or a file, so control
    characters are escaped (line breaks of a table stay)."""
    from foundation.text import printable

    print(printable(text, keep_newlines=True))


def reported(func: F) -> F:
    """Turn the domain's typed errors into one line each on stderr and the documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from foundation import errors

        try:
            return func(*args, **kwargs)
        except errors.SecureAppError as exc:
            from foundation.text import printable

            for line in exc.lines():
                # One line each, whatever a redirect or a server put in the message.
                err(printable(f"error: {line}"))
            raise Exit(code=exc.exit_code) from None
        except KeyboardInterrupt:
            # A Ctrl-C while storing is caught below us (the token is kept in the fallback file
            # and that error names it); reaching here means nothing was written.
            err("error: interrupted (Ctrl-C); nothing was stored or half-written. Fix: run the "
                "task again when ready.")
            raise Exit(code=errors.EXIT_INTERRUPTED) from None
        except Exit:
            raise
        except Exception as exc:
            if debug_requested():
                raise
            # The exception text of an unknown error is not printed: it might quote a secret.
            err(f"error: unexpected {type(exc).__name__} (a bug). Fix: re-run with "
                "SECURE_APP_DEBUG=1 for the traceback and report it.")
            raise Exit(code=errors.EXIT_INTERNAL) from None

    return wrapper  # type: ignore[return-value]


@cli(help={"stack": "stack name (plans Pulumi.<stack>.yaml here; default dev) or the path of "
                    "a Pulumi.<stack>.yaml file elsewhere"})
@reported
def plan(c: Context, stack: str = "dev") -> None:
    """Run the Pulumi program offline (mock engine) and check the security policy rules."""
    from foundation.errors import PolicyViolation
    from scripts.flows.plan import format_plan, stack_file_location
    from scripts.offline.plan_engine import run_plan

    name, folder = stack_file_location(stack, ROOT)
    report = run_plan(name, folder)
    out("\n".join(format_plan(report)))
    if report.problems:
        raise PolicyViolation(list(report.problems))


CONSENT_HELP = {
    "csp_domain": "partner (CSP) tenant: domain or GUID (env CSP_DOMAIN)",
    "app_id": "CPV app client id (env CPV_APP_ID); its secret: env CPV_APP_SECRET or a prompt",
    "store": "keyvault (default) or manual",
    "vault_url": "vault URL (env KEY_VAULT_URL; default stack output vaultUri)",
    "secret_name": "secret name (env KEY_VAULT_SECRET_NAME; default stack output secretName)",
    "redirect_port": "loopback redirect port (default 8400; register http://localhost:PORT)",
    "no_browser": "print the sign-in URL on stderr instead of opening a browser",
    "paste": "paste the final redirected URL back (remote shell)",
    "device_code": "sign in on another device with a code (CPV app must allow public flows)",
    "timeout": "seconds to wait for the sign-in (default 300)",
    "format": "table, json or env",
    "show_secrets": "print secrets instead of ***",
    "cloud": "public, usgov or china (env CSP_CLOUD)",
    "stack": "Pulumi stack for default values",
}


@cli(help=CONSENT_HELP)
@reported
def consent(c: Context, csp_domain: str | None = None, app_id: str | None = None,
            store: str = "keyvault", vault_url: str | None = None, secret_name: str | None = None,
            redirect_port: int = 8400, no_browser: bool = False, paste: bool = False,
            device_code: bool = False, timeout: int = 300, format: str = "table",
            show_secrets: bool = False, cloud: str | None = None,
            stack: str | None = None) -> None:
    """Sign in once with MFA, consent for the CPV app, store the refresh token, print settings."""
    from scripts import inputs
    from scripts.flows import consent as flow
    from scripts.flows import settings

    inputs.check_store(store)
    inputs.check_format(format, settings.FORMATS)
    given = inputs.consent_inputs(store, csp_domain, app_id, vault_url, secret_name, cloud, stack,
                                  redirect_port, cwd=ROOT)
    mode: flow.Mode = ("device-code" if device_code else "paste" if paste
                       else "no-browser" if no_browser else "browser")
    ui = flow.SignInUI(show_url=err, tell=lambda m: err(f"note: {m}"), read_pasted=_read_pasted)
    result = flow.consent(given, ui, mode=mode, timeout=float(timeout), say=err)
    out(settings.render(result, format, show_secrets=show_secrets))


@cli(help={"from_file": "fallback file that consent printed", "vault_url": "override vault",
            "secret_name": "override secret name", "cloud": CONSENT_HELP["cloud"]})
@reported
def store_token(c: Context, from_file: str, vault_url: str | None = None,
                secret_name: str | None = None, cloud: str | None = None) -> None:
    """Push a refresh token kept in a fallback file to Key Vault, then delete the file."""
    from scripts import inputs, storage

    given = inputs.kept_token_inputs(from_file, vault_url, secret_name, cloud)
    stored = storage.store_pending(given.path, given.endpoints, given.storage, given.target)
    err(f"Stored as a new version: {stored.version}; {from_file} deleted.")
    out(stored.secret_id)


@task
def test(c: Context) -> None:
    """Lint (ruff), type-check (mypy), check the import layers (import-linter), scan (bandit) and
    run the whole test suite."""
    py = sys.executable
    c.run(f"{py} -m ruff check .", pty=False)
    c.run(f"{py} -m mypy foundation scripts infra tasks.py", pty=False)
    # The import contract: imports run one way (layers in pyproject.toml [tool.importlinter]).
    c.run(f"{Path(py).parent / 'lint-imports'} --no-cache", pty=False)
    c.run(f"{py} -m bandit -q -c pyproject.toml -r foundation scripts infra clouddouble tasks.py",
          pty=False)
    c.run(f"{py} -m pytest -n 2 -q", pty=False)


def _read_pasted() -> str:
    """The prompt goes to stderr: stdout carries only the result."""
    err("Paste the address the browser ended on (http://localhost...) and press Enter:")
    return sys.stdin.readline()


def _print_result(fmt: str, as_json: Callable[[], object], table: Callable[[], str]) -> None:
    import json

    out(json.dumps(as_json(), indent=2) if fmt == "json" else table())


LIFECYCLE_HELP = {k: CONSENT_HELP[k] for k in
                  ("csp_domain", "app_id", "vault_url", "secret_name", "cloud", "stack")}


@cli(help={**LIFECYCLE_HELP, "keep": "disable all but the newest N versions (default: keep all)",
            "format": "table or json"})
@reported
def rotate(c: Context, csp_domain: str | None = None, app_id: str | None = None,
           vault_url: str | None = None, secret_name: str | None = None, keep: int = 0,
           format: str = "table", cloud: str | None = None, stack: str | None = None) -> None:
    """Redeem the stored refresh token and store the new one (a new version, fresh expiry)."""
    from scripts import inputs
    from scripts.flows.rotate import rotate as run_rotate

    inputs.check_format(format)
    given = inputs.partner_inputs(csp_domain, app_id, vault_url, secret_name, cloud, stack,
                                  cwd=ROOT)
    done = run_rotate(given.app, given.target, given.endpoints, keep=int(keep) if keep else None,
                      options=given.storage, say=err)
    _print_result(format, done.as_json, done.table)


@cli(help={**LIFECYCLE_HELP, "warn_days": "warn when something expires within N days (30)",
            "format": "table or json"})
@reported
def verify(c: Context, csp_domain: str | None = None, app_id: str | None = None,
           vault_url: str | None = None, secret_name: str | None = None, warn_days: int = 30,
           format: str = "table", cloud: str | None = None, stack: str | None = None) -> None:
    """The platform's view, read-only: exit 0 healthy, 8 expiring soon, 9 broken, 5 service down."""
    from scripts import inputs
    from scripts.flows.verify import verify as run_verify

    inputs.check_format(format)
    given = inputs.partner_inputs(csp_domain, app_id, vault_url, secret_name, cloud, stack,
                                  cwd=ROOT)
    report = run_verify(given.key_vault_reader(), given.app, given.target, given.endpoints,
                        warn_days=int(warn_days))
    _print_result(format, report.as_json, report.table)
    for line in report.problems():
        err(line)
    if report.exit_code:
        raise Exit(code=report.exit_code)


@cli(help={"format": "table or json", "cloud": CONSENT_HELP["cloud"]})
@reported
def mfa_report(c: Context, format: str = "table", cloud: str | None = None) -> None:
    """List the tenant's users and their MFA registration, admins first; 9 if an admin lacks it."""
    from scripts import inputs
    from scripts.flows.mfa_report import mfa_report as run_report

    inputs.check_format(format)
    report = run_report(inputs.endpoints(cloud))
    _print_result(format, report.as_json, report.table)
    problem = report.problem()
    if problem:
        err(f"error: {problem}")
        raise Exit(code=report.exit_code)


@cli(help={**LIFECYCLE_HELP, "format": "table, json or env", "show_secrets": "print secrets"})
@reported
def settings(c: Context, csp_domain: str | None = None, app_id: str | None = None,
             vault_url: str | None = None, secret_name: str | None = None,
             format: str = "table", show_secrets: bool = False, cloud: str | None = None,
             stack: str | None = None) -> None:
    """Print the module settings from the stack outputs and the secret's current version."""
    from scripts import inputs
    from scripts.flows import settings as module_settings

    inputs.check_format(format, module_settings.FORMATS)
    given = inputs.partner_inputs(csp_domain, app_id, vault_url, secret_name, cloud, stack,
                                  cwd=ROOT)
    result = module_settings.current(given.app, given.target, given.key_vault_reader(),
                                     given.endpoints)
    out(module_settings.render(result, format, show_secrets=show_secrets))


@cli(help={"browser": "sign in yourself in your browser (default: only at a desktop)",
           "no_browser": "let the double's scripted user sign in (the default in CI)",
           "format": "table, json or env", "stack": "stack whose config to provision (dev)"})
@reported
def demo(c: Context, browser: bool = False, no_browser: bool = False, format: str = "table",
         stack: str = "dev") -> None:
    """The whole flow, rehearsed against a local cloud double: provision, consent, store, read."""
    from scripts import inputs
    from scripts.flows import settings
    from scripts.flows.demo import browser_available
    from scripts.offline.demo_world import run_demo

    inputs.check_format(format, settings.FORMATS)
    use_browser = browser or (not no_browser and browser_available())
    result = run_demo(ROOT, err, use_browser=use_browser, stack=stack)
    out(settings.render(result.settings, format, show_secrets=False))
    err(f"Done: {result.request_count} requests to the local double; overall health: "
        f"{result.health.status}. The real sequence: README 'Real use'.")
