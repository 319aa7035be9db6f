"""Real-thread races for the concurrency tests: each thread has its own database connection, and a
barrier releases them at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection
from django_tenants.utils import tenant_context


def race(tenant, work: Callable[[int], object], count: int = 10) -> list:
    """Run `work(index)` in `count` threads released at once; each result or raised exception, by index."""
    barrier = threading.Barrier(count, timeout=30)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            with tenant_context(tenant):
                connection.ensure_connection()
                barrier.wait()
                results[index] = work(index)
        except Exception as error:  # noqa: BLE001 - the test asserts on what each thread got
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def race_each(tenant, attempts: list[Callable[[], object]]) -> list:
    """Each attempt in its own thread, all released at once; results or errors in the attempts' order."""
    return race(tenant, lambda index: attempts[index](), count=len(attempts))
