"""Typed, validated settings for one stack.

Every key lives in the ``airflow-aks`` config namespace and is declared, with its type,
default and description, in ``Pulumi.yaml``'s ``config:`` block: that block is the one
place defaults live (the Pulumi CLI applies them, and so does ``python -m synth``).
:func:`parse_settings` reads every key once, validates all of them, and raises ONE
:class:`ConfigError` that lists every problem (key, bad value, what is allowed) before
any resource is registered. Error text never shows the value of a key the stack marks
secret, nor credentials inside a URL.

One concern per module, each importing only the ones above it:

- :mod:`config.limits`: the length and size caps, and the characters no value may contain;
- :mod:`config.report`: :class:`Problem`, :class:`ConfigError`, how values are shown and redacted;
- :mod:`config.validators`: the per-value validators;
- :mod:`config.model`: the :class:`Settings` model, its config keys and derived names;
- :mod:`config.checks`: cross-field checks and advisories;
- :mod:`config.loader`: :func:`parse_settings` (all errors at once) and :func:`load_settings`.

Nothing here imports a Pulumi resource module or :mod:`components`: settings know nothing
of components (chart facts come from :mod:`profiles`).
"""

from config.checks import advisories
from config.limits import (
    DNS_SERVICE_IP,
    ENV_TOTAL_MAX,
    IDENTITY_MAX,
    NODE_RESOURCE_GROUP_MAX,
    POD_CIDR,
    RESOURCE_GROUP_MAX,
    SERVICE_CIDR,
)
from config.loader import load_settings, parse_settings
from config.model import CONFIG_KEYS, PROJECT, PROVIDER_LOCATION_KEY, STACK_KEY, Settings
from config.report import ConfigError, Problem, redact_url_credentials
from config.validators import (
    AIRFLOW_RELEASE,
    CHART_SERVICE_ACCOUNTS,
    OWNED_ENV,
    Resources,
    cpu_millicores,
    memory_bytes,
)

__all__ = [
    "AIRFLOW_RELEASE",
    "CHART_SERVICE_ACCOUNTS",
    "CONFIG_KEYS",
    "DNS_SERVICE_IP",
    "ENV_TOTAL_MAX",
    "IDENTITY_MAX",
    "NODE_RESOURCE_GROUP_MAX",
    "OWNED_ENV",
    "POD_CIDR",
    "PROJECT",
    "PROVIDER_LOCATION_KEY",
    "RESOURCE_GROUP_MAX",
    "SERVICE_CIDR",
    "STACK_KEY",
    "ConfigError",
    "Problem",
    "Resources",
    "Settings",
    "advisories",
    "cpu_millicores",
    "load_settings",
    "memory_bytes",
    "parse_settings",
    "redact_url_credentials",
]
