"""Parsing v2 ``scope`` parameters: OIDC scopes, ``{resource}/{permission}``,
``{resource}/.default`` and bare Graph names (``User.Read``), grouped by resource in request
order."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import msids as wk
from .catalog import OIDC_SCOPES, Catalog, Resource
from .directory import App, Directory
from .errors import AadError


@dataclass
class ResourceScopes:
    resource: Resource
    #: The resource URI as the client wrote it (becomes the token ``aud``).
    uri: str
    names: set[str] = field(default_factory=set)

    @property
    def default(self) -> bool:
        return ".default" in self.names


@dataclass
class ScopeRequest:
    raw: str
    oidc: set[str]
    resources: list[ResourceScopes]

    @property
    def offline(self) -> bool:
        return "offline_access" in self.oidc

    @property
    def openid(self) -> bool:
        return "openid" in self.oidc

    def single_resource(self, catalog: Catalog) -> ResourceScopes:
        """The one resource a token request targets; Graph when only OIDC scopes were asked."""
        if len(self.resources) > 1:
            raise AadError(28000, scope=self.raw)
        if not self.resources:
            graph = catalog.graph
            return ResourceScopes(graph, graph.uri, {"User.Read"})
        return self.resources[0]


def parse_scopes(raw: str, catalog: Catalog, client_id: str, tenant: str) -> ScopeRequest:
    oidc: set[str] = set()
    grouped: dict[str, ResourceScopes] = {}
    for item in raw.split():
        if item.lower() in OIDC_SCOPES:
            oidc.add(item.lower())
            continue
        if "/" in item:
            uri, _, name = item.rpartition("/")
        else:
            uri, name = catalog.graph.uri, item
        resource = catalog.by_uri(uri)
        if resource is None:
            raise AadError(500011, resource=uri, tenant=tenant)
        if name != ".default":
            perm = resource.scope(name)
            if perm is None and resource.complete:
                raise AadError(650053, client_id=client_id, scope=name, resource=resource.uri)
            name = perm.name if perm else name
        entry = grouped.setdefault(resource.app_id, ResourceScopes(resource, uri.rstrip("/")))
        entry.names.add(name)
    return ScopeRequest(raw, oidc, list(grouped.values()))


def expand(entry: ResourceScopes, app: App, directory: Directory) -> set[str]:
    """Concrete delegated permission names: ``.default`` becomes the app's static permissions."""
    names = set(entry.names)
    if ".default" in names:
        names.discard(".default")
        names |= directory.static_permissions(app, entry.resource.app_id, "Scope")
    return names


def wire_scopes(entry: ResourceScopes, names: set[str]) -> str:
    """The ``scope`` value of a token response: Graph uses short names, others full URIs."""
    if entry.resource.app_id == wk.MICROSOFT_GRAPH_APP_ID:
        return " ".join(sorted(names))
    return " ".join(f"{entry.uri}/{n}" for n in sorted(names))
