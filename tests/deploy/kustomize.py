"""A tiny Kustomize renderer for the deploy tests (there is no kustomize binary here).

It supports exactly the features deploy/kubernetes uses, and refuses any other key so that a
manifest change that needs the real tool is noticed: `resources` (files and directories with
a kustomization.yaml), `namespace`, `labels` (pairs, includeSelectors false,
includeTemplates), `images` (newName/newTag/digest) and `patches` whose file is a
strategic-merge `$patch: delete`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "namespace", "labels", "resources", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"}
POD_TEMPLATE_PATHS = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


class UnsupportedKustomization(AssertionError):
    """The kustomization uses a feature this renderer does not implement."""


def _key(doc: dict[str, Any]) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


def _pod_template(doc: dict[str, Any]) -> dict[str, Any] | None:
    node: Any = doc
    for part in POD_TEMPLATE_PATHS.get(doc["kind"], ()):
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return None
    return node if doc["kind"] in POD_TEMPLATE_PATHS else None


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    template = _pod_template(doc)
    if template is None:
        return []
    spec = template.get("spec", {})
    return [*spec.get("containers", []), *spec.get("initContainers", [])]


def build(directory: Path) -> list[dict[str, Any]]:
    """The resources that `kustomize build directory` would print (for the supported features)."""
    kfile = directory / "kustomization.yaml"
    spec = yaml.safe_load(kfile.read_text(encoding="utf-8"))
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise UnsupportedKustomization(f"{kfile}: keys {sorted(unknown)} need the real kustomize")

    docs: list[dict[str, Any]] = []
    for entry in spec.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            docs.extend(build(path))
        else:
            docs.extend(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d)

    for patch in spec.get("patches", []):
        if set(patch) != {"path"}:
            raise UnsupportedKustomization(f"{kfile}: only `patches: - path:` is supported")
        body = yaml.safe_load((directory / patch["path"]).read_text(encoding="utf-8"))
        if body.get("$patch") != "delete":
            raise UnsupportedKustomization(f"{kfile}: only `$patch: delete` patches are supported")
        target = _key(body)
        before = len(docs)
        docs = [d for d in docs if _key(d) != target]
        if len(docs) != before - 1:
            raise AssertionError(f"{kfile}: patch {patch['path']} matches no resource {target}")

    docs = copy.deepcopy(docs)
    namespace = spec.get("namespace")
    for doc in docs:
        if namespace and doc["kind"] not in CLUSTER_SCOPED:
            doc["metadata"]["namespace"] = namespace
        for label_set in spec.get("labels", []):
            if set(label_set) - {"pairs", "includeSelectors", "includeTemplates"} or label_set.get(
                "includeSelectors"
            ):
                raise UnsupportedKustomization(f"{kfile}: labels with selectors are not supported")
            doc["metadata"].setdefault("labels", {}).update(label_set["pairs"])
            template = _pod_template(doc)
            if label_set.get("includeTemplates") and template is not None:
                template.setdefault("metadata", {}).setdefault("labels", {}).update(label_set["pairs"])
        for image in spec.get("images", []):
            for container in _containers(doc):
                name = container["image"].split("@", 1)[0].rsplit(":", 1)[0]
                if name == image["name"]:
                    ref = image.get("newName", name)
                    if image.get("digest"):
                        ref += "@" + image["digest"]
                    elif image.get("newTag"):
                        ref += ":" + str(image["newTag"])
                    container["image"] = ref
    return docs
