#!/usr/bin/env bash
# Keeps the Azure CLI's OIDC sign-in usable for the rest of a job: `bash <this> start` after
# azure/login.
#
# Why: azure/login signs the CLI in with GitHub's OIDC token, and Entra ID accepts that token as a
# client assertion for a few minutes only. A token the CLI is asked for later fails with
# AADSTS700024 ("Client assertion is not within its valid time range"), and the CLI cannot fetch a
# new GitHub token itself (Azure/login#180, #372; Azure/azure-cli#28708). A `pulumi up` asks late:
# the azblob backend and the azurekeyvault secrets provider (through the CLI credential) and, on an
# Entra ID cluster (the prod stack), kubelogin's `--login azurecli` for the AKS API server, first
# after the cluster exists. So this signs the CLI in again with a fresh GitHub token every few
# minutes, in the background, until the runner ends the job (it ends leftover processes).
# The azure-native provider does not need it: ARM_USE_OIDC=true makes it request fresh GitHub
# tokens itself (ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN).
#
# Needs `permissions: id-token: write` and ARM_CLIENT_ID, ARM_TENANT_ID, ARM_SUBSCRIPTION_ID.
# The token goes to `az login` on its command line, as azure/login passes it.
set -euo pipefail

interval=${AZURE_CLI_KEEPALIVE_SECONDS:-180}
log="${RUNNER_TEMP:-/tmp}/azure-cli-keepalive.log"

sign_in() {
  local token
  token=$(curl -fsS --retry 3 -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
    "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=api://AzureADTokenExchange" | jq -r .value)
  az login --service-principal --username "$ARM_CLIENT_ID" --tenant "$ARM_TENANT_ID" \
    --federated-token "$token" --output none --only-show-errors
  az account set --subscription "$ARM_SUBSCRIPTION_ID"
}

case "${1:-}" in
  start)
    : "${ACTIONS_ID_TOKEN_REQUEST_URL:?no OIDC token endpoint: the job needs permissions: id-token: write}"
    : "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:?no OIDC request token: the job needs permissions: id-token: write}"
    : "${ARM_CLIENT_ID:?}" "${ARM_TENANT_ID:?}" "${ARM_SUBSCRIPTION_ID:?}"
    nohup bash "$0" loop > "$log" 2>&1 &
    echo "azure-cli-keepalive: signs the Azure CLI in again every ${interval}s (pid $!, log $log)"
    ;;
  loop)
    while sleep "$interval"; do
      if sign_in; then
        echo "$(date -u +%FT%TZ) signed in again"
      else
        echo "$(date -u +%FT%TZ) sign-in failed; next try in ${interval}s"
      fi
    done
    ;;
  *)
    echo "usage: $0 start" >&2
    exit 2
    ;;
esac
