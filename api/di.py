"""Dependencies resolved in order, in the request's own task.

Litestar 2 resolves each batch of independent dependencies in an anyio task group, one task per
dependency (`KwargsModel.resolve_dependencies`), so that slow async providers overlap. Ours are
lookups that take microseconds (`api.deps`); spawning tasks for them cost more than the rest of a
view POST: through the router, a route with two dependencies served 0.28x the views per second of
the same work without them (BENCHMARKS.md), the cliff reported upstream as litestar#4563 (open).
`resolve_in_order` replaces that method with the same loop run sequentially; the pinned Litestar
(requirements.lock) is what it is checked against (tests/test_view_ingest.py asserts providers
run in the handler's task)."""

from __future__ import annotations

from typing import Any

from litestar._kwargs.cleanup import DependencyCleanupGroup
from litestar._kwargs.dependencies import resolve_dependency
from litestar._kwargs.kwargs_model import KwargsModel

__all__ = ["resolve_in_order"]


async def _resolve_dependencies(self: KwargsModel, connection: Any, kwargs: dict[str, Any]) -> Any:
    cleanup_group = DependencyCleanupGroup()
    for batch in self.dependency_batches:
        for dependency in batch:  # a batch's members do not depend on each other: any order
            await resolve_dependency(dependency, connection, kwargs, cleanup_group)
    return cleanup_group


def resolve_in_order() -> None:
    KwargsModel.resolve_dependencies = _resolve_dependencies  # type: ignore[method-assign]
