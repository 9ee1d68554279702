"""Run the Pulumi program (or any function) under the mock runtime and record the graph."""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import runpy
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from synth.mocks import AzureMocks, struct_to_python
from synth.project import PROJECT_DIR, StackConfig


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the cycle collector off the heap until exit: every object alive on entry (the SDKs'
    modules and classes, the run so far: some 200,000 objects) is frozen out of it, and it
    does not run inside. Each full collection rescanned them all, and the program's run and
    the reference files' parsing triggered several: a third of synth's time went there.
    On exit everything, old and new, joins the oldest generation unscanned (freeze, then
    unfreeze): what is made inside (modules the program imports, the records, parsed
    reference files) is long-lived or plain data, and the little cyclic garbage among it goes
    at the next full collection (or a gc.collect())."""
    enabled = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()


@functools.cache
def _freeze_at_exit() -> None:
    """At interpreter exit, freeze the heap: the collector's final passes over every object
    (some 250,000 after a run) took ~0.4 s of each synth, for memory the process is about to
    return anyway. Module teardown still frees what it frees; only cycles are left as they are."""
    atexit.register(gc.freeze)


@dataclass
class ResourceRecord:
    """One registration, as the engine would see it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    provider: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    inputs: dict[str, Any]  # secrets wrapped in synth.mocks.Secret
    state: dict[str, Any] = field(default_factory=dict)
    read: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    protect: bool = False
    aliases: list[str] = field(default_factory=list)  # former URNs the engine would adopt
    # the customTimeouts option: create/update/delete -> duration (the ones set)
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    # a component's register_outputs, as `pulumi stack export` shows them (None: never called)
    outputs: dict[str, Any] | None = None


def alias_urns(request: Any, urn: str) -> list[str]:
    """The former URNs a registration's aliases name (what `pulumi up` matches in state, so
    a moved resource is adopted, not replaced): the spec's own URN, or one computed from its
    name, type and former parent the way the engine computes a URN."""
    prefix, _, _ = urn.partition("::" + urn.split("::")[2])
    out = []
    for alias in getattr(request, "aliases", []):
        if alias.urn:
            out.append(alias.urn)
            continue
        spec = alias.spec
        if spec.type and spec.type != request.type:
            continue  # the SDK's own aliases for earlier API versions of a type, not a move
        name, typ = spec.name or request.name, request.type
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        qualified = f"{parent.split('::')[2]}${typ}" if parent else typ
        out.append(f"{prefix}::{qualified}::{name}")
    return sorted(out)


def _timeouts(request: Any) -> dict[str, str]:
    timeouts = getattr(request, "customTimeouts", None)
    return {k: str(v) for k in ("create", "update", "delete") if (v := getattr(timeouts, k, ""))}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that keeps parent, provider, dependencies and secret markers."""

    def __init__(self, mocks: AzureMocks) -> None:
        super().__init__(mocks)
        self.records: dict[str, ResourceRecord] = {}
        self.order: list[str] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call] # pulumi's mocks are untyped
        urn = response.urn
        if request.type != "pulumi:pulumi:Stack":
            self._record(urn, request, read=False)
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
        if request.urn in self.records:
            self.records[request.urn].outputs = struct_to_python(request.outputs)
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]

    def ReadResource(self, request: Any) -> Any:  # noqa: N802
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        self._record(response.urn, request, read=True)
        return response

    def _record(self, urn: str, request: Any, read: bool) -> None:
        props = request.properties if read else request.object
        self.records[urn] = ResourceRecord(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            custom=True if read else bool(request.custom),
            provider=request.provider,
            dependencies=list(getattr(request, "dependencies", [])),
            property_dependencies={k: list(v.urns) for k, v in getattr(request, "propertyDependencies", {}).items()},
            inputs=struct_to_python(props),
            state=dict(self.resources[urn].state) if urn in self.resources else {},
            read=read,
            ignore_changes=sorted(getattr(request, "ignoreChanges", [])),
            protect=bool(getattr(request, "protect", False)),
            aliases=[] if read else alias_urns(request, urn),
            custom_timeouts=_timeouts(request),
        )
        self.order.append(urn)


@dataclass
class RunResult:
    stack: str
    records: list[ResourceRecord]
    outputs: dict[str, tuple[Any, bool]]  # name -> (value, is_secret)
    mocks: AzureMocks

    def by_type(self, typ: str) -> list[ResourceRecord]:
        return [r for r in self.records if r.type == typ]

    def one(self, typ: str) -> ResourceRecord:
        found = self.by_type(typ)
        if len(found) != 1:
            raise AssertionError(f"expected one {typ}, found {len(found)}")
        return found[0]

    def by_urn(self) -> dict[str, ResourceRecord]:
        return {r.urn: r for r in self.records}


def setup_mocks(
    project: str, stack: str, config: dict[str, str], secret_keys: list[str], mocks: AzureMocks | None = None
) -> tuple[AzureMocks, RecordingMonitor]:
    """Fresh mock runtime: new root stack, given config. Returns the mocks and the monitor."""
    mocks = mocks or AzureMocks(location=config.get("azure-native:location", "eastus"))
    monitor = RecordingMonitor(mocks)
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(dict(config), list(secret_keys))
    return mocks, monitor


def run(
    program: Callable[[], Any],
    project: str,
    stack: str,
    config: dict[str, str],
    secret_keys: list[str] | None = None,
    mocks: AzureMocks | None = None,
) -> RunResult:
    """Run `program` to completion under mocks and return everything it registered."""
    _freeze_at_exit()
    mocks, monitor = setup_mocks(project, stack, config, secret_keys or [], mocks)
    runtime_settings.SETTINGS.rpc_manager.clear()
    runtime_settings.SETTINGS.outputs.clear()
    try:
        with frozen_heap():
            _sync_await(run_pulumi_func(program))
    except BaseException:
        # A refused run leaves futures whose exception nobody retrieves. Finalize them here,
        # not whenever the collector next runs: on CPython 3.11.7 their finalizer's traceback
        # formatting, if it lands inside another thread's ast.parse, makes that parse raise
        # SystemError ("AST constructor recursion depth mismatch").
        gc.collect()
        raise

    outputs: dict[str, tuple[Any, bool]] = {}
    root = runtime_settings.get_root_resource()
    for key, value in (getattr(root, "outputs", None) or {}).items():
        out = pulumi.Output.from_input(value)
        outputs[key] = (_sync_await(out.future()), bool(_sync_await(out.is_secret())))
    records = [monitor.records[u] for u in monitor.order]
    return RunResult(stack=stack, records=records, outputs=outputs, mocks=mocks)


def run_stack(config: StackConfig, project_dir: Path = PROJECT_DIR, mocks: AzureMocks | None = None) -> RunResult:
    """Run __main__.py for one stack's config, as `pulumi up` would, but against mocks."""
    main = project_dir / "__main__.py"
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))

    def program() -> None:
        runpy.run_path(str(main), run_name="__main__")

    return run(program, config.project, config.stack, config.values, config.secret_keys, mocks)
