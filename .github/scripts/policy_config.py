"""Write the CrossGuard policy pack's config for one stack (for `--policy-pack-config`).

The pack's `helm-pinned-sources` policy has no default registry (policy/README.md, "Setup and
config"): it must be the stack's ACR login server. This reads Pulumi.<stack>.yaml with the same
reader and settings `python -m synth` uses, so CrossGuard checks the registry synth checked.
The production-* and stateful-resources-protected policies keep their default stack list (prod).

    python .github/scripts/policy_config.py <stack> <out.json>

Exit codes: 0 written, 2 bad usage or an invalid stack (the message lists every problem).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def policy_config(stack: str) -> dict[str, dict[str, str]]:
    """The pack config for `stack` (raises synth's UsageError for a bad stack or config)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from synth.__main__ import configure

    _, settings, _ = configure(stack, None)
    return {"helm-pinned-sources": {"registry": settings.registry_server}}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: policy_config.py <stack> <out.json>", file=sys.stderr)
        return 2
    stack, out = argv
    try:
        config = policy_config(stack)
    except Exception as err:  # noqa: BLE001 - synth's UsageError: one message, no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2
    Path(out).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
