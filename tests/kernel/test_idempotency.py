import threading

import pytest
from django.db import connection, connections
from django_tenants.utils import tenant_context
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from brokerage.idempotency import idempotent
from brokerage.models import IdempotencyRecord
from crm.models import Client


class TransferInput(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)


class FakeTransferViewSet(viewsets.ViewSet):
    """Stands in for a money-moving endpoint: each real run creates one row."""

    @idempotent
    def create(self, request):
        data = TransferInput(data=request.data)
        data.is_valid(raise_exception=True)
        client = Client.objects.create(
            first_name="Transfer",
            last_name=str(data.validated_data["amount"]),
            email=f"t{Client.objects.count()}@example.test",
        )
        return Response({"transfer_id": client.pk, "amount": str(data.validated_data["amount"])}, status=201)


view = FakeTransferViewSet.as_view({"post": "create"})
factory = APIRequestFactory()


def _post(user, body, key="key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    request = factory.post("/api/v1/transfers/", body, format="json", **headers)
    force_authenticate(request, user=user)
    return view(request)


def test_a_retry_with_the_same_key_replays_the_first_response_without_running_again(in_alpha, alice):
    first = _post(alice, {"amount": "100.00"})
    second = _post(alice, {"amount": "100.00"})
    assert first.status_code == second.status_code == 201
    assert second.data == first.data
    assert second["Idempotent-Replayed"] == "true"
    assert Client.objects.filter(first_name="Transfer").count() == 1


def test_the_same_key_with_other_parameters_is_a_conflict(in_alpha, alice):
    _post(alice, {"amount": "100.00"})
    response = _post(alice, {"amount": "999.00"})
    assert response.status_code == status.HTTP_409_CONFLICT
    assert response.data["error"]["code"] == "idempotency_conflict"
    assert Client.objects.filter(first_name="Transfer").count() == 1


def test_a_missing_key_is_refused_before_anything_happens(in_alpha, alice):
    response = _post(alice, {"amount": "100.00"}, key=None)
    assert response.status_code == 400
    assert response.data["error"]["code"] == "idempotency_key_required"
    assert not Client.objects.filter(first_name="Transfer").exists()


def test_keys_belong_to_one_user(in_alpha, alice, carl):
    _post(alice, {"amount": "100.00"})
    response = _post(carl, {"amount": "100.00"})
    assert response.status_code == 201
    assert Client.objects.filter(first_name="Transfer").count() == 2


def test_a_refused_request_frees_its_key_for_a_corrected_retry(in_alpha, alice):
    refused = _post(alice, {"amount": "not money"})
    assert refused.status_code == 400
    assert refused.data["error"]["fields"] == {"amount": ["A valid number is required."]}
    assert not IdempotencyRecord.objects.exists()
    assert _post(alice, {"amount": "5.00"}).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_two_racing_requests_with_one_key_run_the_action_once(alpha):
    from tests.factories import staff_user

    with tenant_context(alpha):
        user = staff_user("racer@alpha.test", roles=["finance"])
    barrier = threading.Barrier(4)
    results: list[int] = []

    def attempt():
        try:
            connection.set_tenant(alpha)
            barrier.wait()
            results.append(_post(user, {"amount": "50.00"}, key="race").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with tenant_context(alpha):
        assert Client.objects.filter(first_name="Transfer").count() == 1
    assert results.count(201) >= 1
    assert set(results) <= {201, 409}


class FailingAfterWorkViewSet(viewsets.ViewSet):
    """Does its work, then fails: the work must not survive, nor the key."""

    @idempotent
    def create(self, request):
        Client.objects.create(first_name="Half", last_name="Done", email="half@example.test")
        return Response({"error": "psp down"}, status=502)


def test_a_request_that_fails_after_doing_work_keeps_neither_the_work_nor_the_key(in_alpha, alice):
    failing = FailingAfterWorkViewSet.as_view({"post": "create"})
    request = factory.post("/api/v1/transfers/", {"amount": "1.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    force_authenticate(request, user=alice)
    assert failing(request).status_code == 502
    assert not Client.objects.filter(first_name="Half").exists()
    assert not IdempotencyRecord.objects.exists()
    # The corrected retry with the same key runs normally.
    assert _post(alice, {"amount": "1.00"}, key="k").status_code == 201


def test_old_keys_are_purged_and_recent_ones_kept(in_alpha, alice):
    from datetime import timedelta

    from django.utils import timezone

    from brokerage.idempotency import RETENTION, idempotency_purge

    _post(alice, {"amount": "1.00"}, key="old")
    _post(alice, {"amount": "2.00"}, key="new")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - RETENTION - timedelta(minutes=1))
    assert idempotency_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
