"""Guardrails for the airflow-aks stack: plain rules in :mod:`policy.rules`.

``policy/__main__.py`` is the CrossGuard entry point (``pulumi preview --policy-pack policy``);
it is the only module that imports ``pulumi_policy`` and is never imported by the package.
"""
