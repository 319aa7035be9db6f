"""The push endpoint: thin; trading.sync.push does the work."""

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from trading.sync.push import push_receive


@csrf_exempt
@require_POST
def push_endpoint(request, platform_code: str):
    """A platform's bridge posts here; no session or CSRF token: the HMAC signature authenticates it."""
    try:
        body = request.body
    except RequestDataTooBig:
        message = "The body is larger than the server accepts; send smaller batches."
        return JsonResponse({"error": {"code": "too_large", "message": message, "fields": {}}}, status=413)
    answer = push_receive(platform_code=platform_code, signature=request.headers.get("X-Signature", ""), body=body)
    return JsonResponse(answer.body, status=answer.status)
