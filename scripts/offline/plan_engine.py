"""The plan's offline engine: the real ``infra`` program run under Pulumi's mock engine.

``run_program`` validates a stack's config and runs ``infra.program`` with ``RecordingMocks``
(``scripts.offline.plan_mocks``) or a subclass (the demo's ``DoubleMocks``); ``RecordingMonitor``
replaces the mock monitor's ``RegisterResource`` so resource *options* (protect, retainOnDelete,
ignoreChanges, ...) are recorded too; the stock mocks drop them. ``run_plan`` is ``csp-secure-app
plan``:
the stack file's config, the program, then the report of ``scripts.flows.plan``.

With ``scripts.offline.demo_world``, the only room that imports ``infra.program`` (and its
config parser): the flows never run the program themselves. Provider SDKs are imported inside
the functions that run the program, never at import time: ``invoke --list`` must stay fast.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import weakref
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from foundation.errors import ConfigError
from scripts.flows.plan import PlanReport, PlanResult, StackOutput, review
from scripts.offline.plan_mocks import RecordingMocks, ResourceRecord, unwrap_secrets

#: Event loops the mock engine made in its worker threads (Pulumi's mocks make one per thread and
#: never close them). They stay usable for later runs in this process and are closed at exit:
#: left to the garbage collector during interpreter teardown, a loop's ``__del__`` sometimes
#: prints an "Exception ignored" traceback on stderr.
_ENGINE_LOOPS: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def _track_loop() -> None:
    _ENGINE_LOOPS.add(_ensure_event_loop())  # type: ignore[no-untyped-call]


@atexit.register
def _close_engine_loops() -> None:
    for loop in list(_ENGINE_LOOPS):
        if not loop.is_running() and not loop.is_closed():
            loop.close()


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The stock mock monitor, except ``RegisterResource`` also captures resource options and
    hands a full ``ResourceRecord`` to ``RecordingMocks.register``. Called from worker threads,
    so it keeps no per-call state on ``self``."""

    mocks: RecordingMocks

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        _track_loop()  # the calling thread's loop, which runs the program

    def Invoke(self, request: Any) -> Any:
        _track_loop()
        return super().Invoke(request)  # type: ignore[no-untyped-call]

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _track_loop()
        raw = rpc.deserialize_properties(request.object)
        inputs, secrets = unwrap_secrets(raw)
        record = ResourceRecord(
            type=request.type,
            name=request.name,
            urn=urn,
            custom=bool(request.custom),
            inputs=inputs,
            options={
                "parent": request.parent or None,
                "protect": bool(request.protect),
                "retainOnDelete": bool(request.retainOnDelete),
                "ignoreChanges": list(request.ignoreChanges),
                "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                "replaceOnChanges": list(request.replaceOnChanges),
                "additionalSecretOutputs": list(request.additionalSecretOutputs),
                "dependencies": list(request.dependencies),
                # Set when the resource is adopted (`import_`) rather than created.
                "importId": request.importId or None,
            },
            secret_paths=frozenset(secrets),
        )
        resource_id, state = self.mocks.register(record)
        state_proto = _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=state_proto)


class _WarningCollector(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(level=logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


def run_program(
    config: Mapping[str, str],
    mocks: RecordingMocks | None = None,
    *,
    stack: str = "dev",
    today: date | None = None,
) -> PlanResult:
    """Validate ``config`` (bare keys; raises ``InvalidConfig``) and run ``infra.program`` under
    ``mocks``. Safe to call repeatedly in one process: the Pulumi runtime is reset each time.
    Pass a fresh ``mocks`` per run (records accumulate on an instance)."""
    from pulumi.runtime import settings
    from pulumi.runtime.mocks import set_mocks
    from pulumi.runtime.stack import run_pulumi_func

    from infra.config import PROJECT, parse_config
    from infra.program import declare

    cfg = parse_config(config, today=today)
    mocks = mocks if mocks is not None else RecordingMocks()
    mocks.cloud_name = cfg.cloud
    warnings: list[str] = []
    logger = logging.getLogger(f"{__name__}.engine")
    logger.propagate = False
    logger.addHandler(_WarningCollector(warnings))

    # A previous run leaves its root Stack resource behind; set_mocks only creates a new one
    # (registered with the new monitor) when there is none.
    settings.ROOT.set(None)
    set_mocks(
        mocks,
        project=PROJECT,
        stack=stack,
        preview=False,
        logger=logger,
        monitor=RecordingMonitor(mocks),
    )
    resolved: dict[str, StackOutput] = {}

    async def program() -> None:
        for key, output in declare(cfg, today=today).items():
            value = await output.future()
            resolved[key] = StackOutput(value=value, secret=await output.is_secret())

    try:
        _sync_await(run_pulumi_func(program))
    finally:
        settings.ROOT.set(None)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
    return PlanResult(resources=list(mocks.records), outputs=resolved, warnings=warnings)


def load_stack_config(stack: str, project_dir: Path) -> dict[str, str]:
    """The ``config:`` block of ``Pulumi.<stack>.yaml`` as ``parse_config`` input."""
    import yaml

    from infra.config import config_values_from_stack_file, read_stack_document

    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise ConfigError(
            f"no stack file {path} for stack {stack!r}",
            fix="copy Pulumi.dev.yaml to that name and edit it, or pass an existing stack",
        )
    try:
        document = read_stack_document(path) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path} is not valid YAML{where}", fix="correct the syntax") from None
    config = document.get("config") if isinstance(document, dict) else None
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: 'config' is not a mapping", fix="use key: value lines")
    return config_values_from_stack_file(config)


def run_plan(stack: str, project_dir: Path, *, today: date | None = None) -> PlanReport:
    """Load the stack's config (raises ``ConfigError``/``InvalidConfig``), run the program
    offline and every policy rule over what it declared."""
    result = run_program(load_stack_config(stack, project_dir), stack=stack, today=today)
    return review(stack, result, today)
