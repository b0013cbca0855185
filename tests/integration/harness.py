"""Worker subprocess helpers live in infra.workers (shared with the chaos harness)."""

from infra.workers import Deployment, Worker, free_port

__all__ = ["Deployment", "Worker", "free_port"]
