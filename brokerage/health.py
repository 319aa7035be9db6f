"""/health/: is the database, Redis and at least one worker answering?"""

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _redis() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    import redis

    redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    return "ok"


WORKER_CHECK_SECONDS = 15


def _worker() -> str:
    """Pinging workers waits up to a second, so one answer serves every caller for a while."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager (tasks run in the web process)"
    answer = cache.get("health:worker")
    if answer is None:
        from brokerage.celery import app

        replies = app.control.inspect(timeout=1.0).ping() or {}
        answer = f"ok ({len(replies)} worker{'s' if len(replies) != 1 else ''})" if replies else "no worker answered"
        cache.set("health:worker", answer, WORKER_CHECK_SECONDS)
    return answer


@never_cache
def health(request):
    checks: dict[str, str] = {}
    healthy = True
    for name, check in (("database", _database), ("redis", _redis), ("worker", _worker)):
        try:
            checks[name] = check()
        except Exception as exc:  # a health check reports failures, it does not raise them
            checks[name] = f"error: {exc.__class__.__name__}"
        healthy = healthy and (checks[name].startswith(("ok", "eager", "not configured")))
    return JsonResponse({"status": "ok" if healthy else "degraded", "checks": checks}, status=200 if healthy else 503)
