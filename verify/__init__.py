"""python -m verify <stack>: check a deployed stack through the Kubernetes API.

Reads the stack outputs (`pulumi stack output --json --show-secrets`, or a file), connects with
the `kubeconfig` output and checks, polling until a timeout: the Airflow release's pods are
Ready and its Jobs complete, every ExternalSecret is Ready, the logs claim is Bound (logsMode
pv), Airflow's health endpoint reports every component healthy; optionally it triggers a DAG
run and waits for it to succeed. Standard library and PyYAML only (README: "Verify a
deployment"). Exit codes: 0 every check passed, 1 a check failed, 2 bad usage, outputs or
kubeconfig.
"""
