"""/health/: is the database, Redis and at least one worker answering?"""

from django.conf import settings
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


def _worker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager (tasks run in the web process)"
    from brokerage.celery import app

    replies = app.control.inspect(timeout=1.0).ping() or {}
    return f"ok ({len(replies)} worker{'s' if len(replies) != 1 else ''})" if replies else "no worker answered"


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
