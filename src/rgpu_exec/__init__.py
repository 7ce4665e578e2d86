"""rgpu-exec: the kubectl exec credential plugin for RemoteGPU Kubernetes namespaces.

This package is imported on the cache-hit path: keep it free of imports.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
