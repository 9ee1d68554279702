"""Kubernetes facts shared by the program, synth and the policy pack (standard library only:
the pack runs standalone, with only this directory on its path).

The one home of what synth (``synth/validate.py``) and the pack (``policy/rules.py``) both
need to know about Kubernetes objects and Helm values: the federated-credential subject of a
ServiceAccount, where the images in Helm values are and which registry they come from, and the
walkers both read values and manifests with. Values may hold secret markers (the program's
``Secret`` wrappers, ``pulumi_policy.Secret``): every reader here sees through them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

# Where a namespaced object without metadata.namespace goes (the Kubernetes provider's default).
DEFAULT_NAMESPACE = "default"


def service_account_subject(namespace: str, service_account: str) -> str:
    """The exact `sub` claim of a projected ServiceAccount token (what a federated identity
    credential must name): Kubernetes docs, "Service account tokens" /
    `system:serviceaccount:<namespace>:<name>`."""
    return f"system:serviceaccount:{namespace}:{service_account}"


# ---------------------------------------------------------------------------- reading values
def is_secret(value: Any) -> bool:
    """True for a value the program marked secret (synth.mocks.Secret, pulumi_policy.Secret)."""
    return type(value).__name__ == "Secret" and hasattr(value, "value")


def plain(value: Any) -> Any:
    """`value` with any secret markers around it removed."""
    while is_secret(value):
        value = value.value
    return value


def is_list(value: Any) -> bool:
    """A YAML/JSON list: any sequence but a string."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def lookup(node: Any, *path: str) -> Any:
    """The value under the mapping keys `path` (secrets unwrapped on the way), None as soon as a
    step is missing or not a mapping."""
    node = plain(node)
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = plain(node.get(key))
    return node


def walk(value: Any, path: str = "", keys: tuple[str, ...] = ()) -> Iterator[tuple[str, tuple[str, ...], Any]]:
    """Every (dotted path, mapping keys above it, node) under `value`, the root included (at
    `path`), secrets unwrapped, in document order; list items as `path[i]` (an index is no key)."""
    node = plain(value)
    yield path, keys, node
    if isinstance(node, Mapping):
        for key, child in node.items():
            yield from walk(child, f"{path}.{key}" if path else str(key), (*keys, str(key)))
    elif is_list(node):
        for i, child in enumerate(node):
            yield from walk(child, f"{path}[{i}]", keys)


# ---------------------------------------------------------------------------- images
_REPOSITORY = "Repository"


def image_ref(node: Any) -> str | None:
    """`registry/repository` of an image mapping (Bitnami charts split the two, and join them
    as written when the registry is a non-empty string), the repository alone without one;
    None when `node` is no mapping with a string `repository`."""
    node = plain(node)
    if not isinstance(node, Mapping):
        return None
    repository = plain(node.get("repository"))
    if not isinstance(repository, str):
        return None
    registry = plain(node.get("registry"))
    return f"{registry}/{repository}" if isinstance(registry, str) and registry else repository


def images(values: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(values path, image reference, tag) of every image in Helm values, in document order.

    An image is a mapping with a string `repository` (plus optional `registry` and `tag`; its
    path is `path`, or "(root)" for the root of unprefixed values), or a `<prefix>Repository`
    string next to `<prefix>Tag` (the Airflow chart's defaultAirflowRepository / Tag, which
    every Airflow image without a repository of its own falls back to). Paths start at `path`:
    "values" gives `values.images.statsd`, "" gives `images.statsd`.
    """
    for where, _keys, node in walk(values, path):
        if not isinstance(node, Mapping):
            continue
        ref = image_ref(node)
        if ref is not None:
            yield where or "(root)", ref, plain(node.get("tag"))
        for key in node:
            name = str(key)
            if name.endswith(_REPOSITORY) and name != _REPOSITORY:
                value = plain(node[key])
                if isinstance(value, str):
                    tag = plain(node.get(name.removesuffix(_REPOSITORY) + "Tag"))
                    yield f"{where}.{name}" if where else name, value, tag


def registry_path(ref: str, registry: str) -> str | None:
    """The path of image `ref` inside `registry` (a login server, e.g. myacr.azurecr.io), None
    when the image does not come from it. The registry is the reference's first component, up
    to the first "/" (so `myacr.azurecr.io.evil.io/x` is not in myacr.azurecr.io); an empty
    registry holds nothing."""
    server = registry.rstrip("/")
    prefix = server + "/"
    return ref[len(prefix) :] if server and ref.startswith(prefix) else None
