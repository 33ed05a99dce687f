"""The product's tasks: parse, one call into a flow, print (pyinvoke's thin tasks).

Each task checks its flags, resolves its inputs (``scripts.inputs``: flag, then environment,
then stack output), makes one call into its flow (``scripts/flows/``) and prints what it returns.
The flows decide what to say; ``scripts.cli.output`` turns their errors into one line and an
exit code (table: ``foundation/errors.py``, documented in the README). Nothing heavy is imported
at module level, invoke included: ``--list`` must stay fast, and a plain command line runs its
task without invoke's parser (``scripts.cli.command``). A task ends with a non-zero code by
``SystemExit``, which invoke lets through as it is.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from scripts.cli.command import cli
from scripts.cli.flags import at_most_one, in_range
from scripts.cli.output import err, out, print_result, read_pasted, reported
from scripts.inputs import debug_requested
from scripts.local.process import harden

if TYPE_CHECKING:
    from invoke.context import Context

    from scripts.flows.platform_url import PlatformUrl
    from scripts.flows.verify.alerts import AlertPlan

harden()  # core dumps off for every task, before anything reads a secret (scripts/local/process.py)
# The SDKs log warnings (sometimes quoting server replies) through logging's last-resort handler
# straight to stderr. Our one-line errors say what matters; SECURE_APP_DEBUG=1 shows the rest.
if not debug_requested():
    logging.getLogger().addHandler(logging.NullHandler())

def project_dir() -> Path:
    """The Pulumi project this run is about: the nearest folder from here up that holds a
    ``Pulumi.yaml`` (as the Pulumi CLI finds it), else the current folder."""
    here = Path.cwd()
    return next((p for p in (here, *here.parents) if (p / "Pulumi.yaml").is_file()), here)


def example_project(stack: str) -> Path:
    """The project ``demo`` rehearses: this one when it has the stack's file, else the example
    installed with the command (pyproject's data-files), so a ``pipx install`` can rehearse."""
    import sys

    here = project_dir()
    shipped = Path(sys.prefix, "share", "csp-secure-app")
    file = f"Pulumi.{stack}.yaml"
    return shipped if not (here / file).is_file() and (shipped / file).is_file() else here


@cli(help={"stack": "stack name (plans Pulumi.<stack>.yaml here; default dev) or the path of "
                    "a Pulumi.<stack>.yaml file elsewhere"})
@reported
def plan(c: Context | None, stack: str = "dev") -> None:
    """Run the Pulumi program offline (mock engine) and check the security policy rules."""
    from foundation.errors import PolicyViolation
    from scripts.flows.plan import format_plan, stack_file_location
    from scripts.offline.plan_engine import run_plan

    name, folder = stack_file_location(stack, project_dir())
    report = run_plan(name, folder)
    out("\n".join(format_plan(report)))
    if report.problems:
        raise PolicyViolation(list(report.problems))


CONSENT_HELP = {
    "csp_domain": "partner (CSP) tenant: domain or GUID (env CSP_DOMAIN)",
    "app_id": "CPV app client id (env CPV_APP_ID); its secret: env CPV_APP_SECRET or a prompt",
    "store": "keyvault (default) or manual (the token is kept in an owner-only file, path on "
             "stderr, unless --show-secrets prints it)",
    "vault_url": "vault URL (env KEY_VAULT_URL; default stack output vaultUri)",
    "secret_name": "secret name (env KEY_VAULT_SECRET_NAME; default stack output secretName)",
    "redirect_port": "loopback redirect port (default 8400; register http://localhost:PORT)",
    "no_browser": "print the sign-in URL on stderr instead of opening a browser",
    "paste": "paste the final redirected URL back (remote shell)",
    "device_code": "sign in on another device with a code (CPV app must allow public flows)",
    "timeout": "seconds to wait for the sign-in (default 300)",
    "format": "table, json or env",
    "show_secrets": "print secrets instead of *** (--store manual: the refresh token too, "
                    "and no file is kept)",
    "cloud": "public, usgov or china (env CSP_CLOUD)",
    "stack": "Pulumi stack for default values",
    "identifier": "Key Vault URL form: versioned (default, one version: give the platform each "
                  "new one) or versionless (the platform reads the newest)",
}


@cli(help=CONSENT_HELP)
@reported
def consent(c: Context | None, csp_domain: str | None = None, app_id: str | None = None,
            store: str = "keyvault", vault_url: str | None = None, secret_name: str | None = None,
            redirect_port: int = 8400, no_browser: bool = False, paste: bool = False,
            device_code: bool = False, timeout: int = 300, format: str = "table",
            show_secrets: bool = False, cloud: str | None = None,
            stack: str | None = None, identifier: str = "versioned") -> None:
    """Sign in once with MFA, consent for the CPV app, store the refresh token, print settings."""
    from scripts import inputs
    from scripts.cli.sign_in import terminal_ui
    from scripts.flows import consent as flow
    from scripts.flows import settings

    inputs.check_store(store)
    inputs.check_format(format, settings.FORMATS)
    in_range("--timeout", timeout, 1, 3600, "seconds to wait for the sign-in")
    inputs.check_port(redirect_port)
    settings.check_identifier(identifier)
    chosen = at_most_one(device_code=device_code, paste=paste, no_browser=no_browser)
    mode: flow.Mode = chosen or "browser"  # type: ignore[assignment]
    given = inputs.consent_inputs(store, csp_domain, app_id, vault_url, secret_name, cloud, stack,
                                  redirect_port, cwd=project_dir())
    # The sign-in block and its countdown on stderr (scripts/cli/sign_in.py).
    ui = terminal_ui(tell=lambda m: err(f"note: {m}"), read_pasted=read_pasted)
    result = flow.consent(given, ui, mode=mode, timeout=float(timeout), say=err,
                          show_secrets=show_secrets)
    out(result.render(format, show_secrets=show_secrets, identifier=identifier))


@cli(help={"from_file": "the owner-only file consent kept the token in (it printed the path)",
           "vault_url": "override vault", "secret_name": "override secret name",
           "cloud": CONSENT_HELP["cloud"]})
@reported
def store_token(c: Context | None, from_file: str | None = None, vault_url: str | None = None,
                secret_name: str | None = None, cloud: str | None = None) -> None:
    """Push a refresh token kept in a fallback file to Key Vault, then delete the file."""
    from foundation.errors import ConfigError
    from scripts import storage
    from scripts.inputs.kept import kept_token_inputs

    if not from_file:
        raise ConfigError("store-token needs --from-file PATH",
                          fix="pass the file consent named when it kept the token")
    given = kept_token_inputs(from_file, vault_url, secret_name, cloud)
    stored = storage.store_pending(given.path, given.endpoints, given.storage, given.target)
    err(f"Stored as a new version: {stored.version}; {from_file} deleted.")
    out(stored.secret_id)


LIFECYCLE_HELP = {k: CONSENT_HELP[k] for k in
                  ("csp_domain", "app_id", "vault_url", "secret_name", "cloud", "stack")}


@cli(help={**LIFECYCLE_HELP, "keep": "disable all but the newest N versions (default: keep all)",
            "format": "table or json"})
@reported
def rotate(c: Context | None, csp_domain: str | None = None, app_id: str | None = None,
           vault_url: str | None = None, secret_name: str | None = None, keep: int = 0,
           format: str = "table", cloud: str | None = None, stack: str | None = None) -> None:
    """Redeem the stored refresh token and store the new one (a new version, fresh expiry)."""
    from foundation.errors import OlderVersionsLeftEnabled
    from scripts import inputs
    from scripts.flows.rotate import rotate as run_rotate

    inputs.check_format(format)
    if keep:  # 0, the default, keeps every version
        in_range("--keep", keep, 1, None, "versions left enabled; without --keep all stay")
    given = inputs.partner_inputs(csp_domain, app_id, vault_url, secret_name, cloud, stack,
                                  cwd=project_dir())
    try:
        done = run_rotate(given.app, given.target, given.endpoints,
                          keep=int(keep) if keep else None, options=given.storage, say=err)
    except OlderVersionsLeftEnabled as partly:
        # The rotation stands (the platform may need its new identifier): print it, then why
        # some older versions are still enabled.
        print_result(format, partly.rotation.as_json, partly.rotation.table)
        raise
    print_result(format, done.as_json, done.table)


@cli(help={**LIFECYCLE_HELP, "warn_days": "warn when something expires within N days (30)",
            "format": "table or json",
            "platform_url": "the platform's module setting \"Key Vault URL\" (versioned or "
                            "versionless): read exactly it, and say whether it is the newest",
            "skip": "a check the tenant cannot serve (licence, permission), reported as "
                    "skipped: partner-center-mfa, consent, conditional-access or liveness; "
                    "repeat for more",
            "notify": "post the report to this https:// webhook when it is not healthy "
                      "(warning, unavailable or broken; not for unknown alone); a failed post "
                      "is a warning and leaves the exit code as it is",
            "notify_always": "with --notify: post every run, healthy and unknown included",
            "notify_format": "json (default: the JSON report with tool, tenant_domain, summary, "
                             "timestamp), teams (a Teams workflow's Adaptive Card) or slack (a "
                             "Slack incoming webhook's blocks)"},
     iterable=["skip"])
@reported
def verify(c: Context | None, csp_domain: str | None = None, app_id: str | None = None,
           vault_url: str | None = None, secret_name: str | None = None, warn_days: int = 30,
           format: str = "table", cloud: str | None = None, stack: str | None = None,
           platform_url: str | None = None, skip: list[str] | None = None,
           notify: str | None = None, notify_always: bool = False,
           notify_format: str = "json") -> None:
    """The platform's view, read-only: exit 0 healthy, 8 expiring soon, 9 broken, 5 service down."""
    from scripts import inputs
    from scripts.flows.verify import check_skips
    from scripts.flows.verify import verify as run_verify

    inputs.check_format(format)
    in_range("--warn-days", warn_days, 0, 365, "days of warning before an expiry")
    skipped = check_skips(skip or [])
    alert: AlertPlan | None = None
    if notify is not None or notify_always or notify_format != "json":
        # The alert's module and the webhook's load only when a --notify flag was given.
        from scripts.flows.verify import alerts

        alert = alerts.plan(notify, notify_format, notify_always)
    platform: PlatformUrl | None = None
    if platform_url is not None:
        from scripts.flows.platform_url import PlatformUrl  # only --platform-url reads one

        platform = PlatformUrl.parse(platform_url)
    given = inputs.partner_inputs(csp_domain, app_id, vault_url, secret_name, cloud, stack,
                                  cwd=project_dir(), reader=True)
    reader = given.key_vault_reader()
    report = run_verify(reader, given.app, given.target, given.endpoints,
                        warn_days=int(warn_days),
                        platform=platform.in_cloud(given.endpoints) if platform else None,
                        skip=skipped)
    print_result(format, report.as_json, report.table)
    for line in report.problems():
        err(line)
    if alert is not None:
        # After the report is out; whatever the post does, the exit code is the report's.
        said = alerts.notify(report, alert, domain=given.app.csp_domain,
                             secrets=(given.app.app_secret, reader.app_secret))
        if said:
            err(said)
    if report.exit_code:
        raise SystemExit(report.exit_code)


@cli(help={"format": "table or json", "cloud": CONSENT_HELP["cloud"]})
@reported
def mfa_report(c: Context | None, format: str = "table", cloud: str | None = None) -> None:
    """List the tenant's users and their MFA registration, admins first; 9 if an admin lacks it."""
    from scripts import inputs
    from scripts.flows.mfa_report import mfa_report as run_report

    inputs.check_format(format)
    report = run_report(inputs.endpoints(cloud))
    print_result(format, report.as_json, report.table)
    problem = report.problem()
    if problem:
        err(f"error: {problem}")
        raise SystemExit(report.exit_code)


@cli(help={**LIFECYCLE_HELP, "format": "table, json or env (names MODULE_*)",
           "show_secrets": "print secrets",
           "identifier": CONSENT_HELP["identifier"]})
@reported
def settings(c: Context | None, csp_domain: str | None = None, app_id: str | None = None,
             vault_url: str | None = None, secret_name: str | None = None,
             format: str = "table", show_secrets: bool = False, cloud: str | None = None,
             stack: str | None = None, identifier: str = "versioned") -> None:
    """Print the module settings from the stack outputs and the secret's current version."""
    from scripts import inputs
    from scripts.flows import settings as module_settings

    inputs.check_format(format, module_settings.FORMATS)
    module_settings.check_identifier(identifier)
    given = inputs.partner_inputs(csp_domain, app_id, vault_url, secret_name, cloud, stack,
                                  cwd=project_dir(), reader=True)
    result = module_settings.current(given.app, given.target, given.key_vault_reader(),
                                     given.endpoints)
    out(module_settings.render(result, format, show_secrets=show_secrets,
                               identifier=identifier))


@cli(help={"browser": "sign in yourself in your browser (default: only at a desktop)",
           "no_browser": "let the double's scripted user sign in (the default in CI)",
           "format": "table, json or env", "stack": "stack whose config to provision (dev)"})
@reported
def demo(c: Context | None, browser: bool = False, no_browser: bool = False,
         format: str = "table", stack: str = "dev") -> None:
    """The whole flow, rehearsed against a local cloud double: provision, consent, store, read."""
    from scripts import inputs
    from scripts.flows import settings
    from scripts.flows.demo import browser_available
    from scripts.offline.demo_world import run_demo

    inputs.check_format(format, settings.FORMATS)
    chosen = at_most_one(browser=browser, no_browser=no_browser)
    use_browser = chosen == "browser" or (chosen is None and browser_available())
    from scripts.cli.sign_in import SignInBlock

    # In a browser the person waits: the terminal's countdown, as consent shows it.
    clock = SignInBlock().ui(tell=err)
    result = run_demo(example_project(stack), err, use_browser=use_browser, stack=stack,
                      clock=clock)
    out(settings.render(result.settings, format, show_secrets=False))
    err(f"Done: {result.request_count} requests to the local double; overall health: "
        f"{result.health.status}. The real sequence: README 'Real use'.")
