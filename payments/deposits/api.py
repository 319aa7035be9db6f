"""/api/v1/deposits/: staff (payments_view) read all; clients (portal_access) read and start their own."""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from brokerage.errors import ApplicationError
from brokerage.idempotency import HEADER, idempotent
from brokerage.money import parse_amount, quantize
from brokerage.permissions import IsActiveTenantUser
from brokerage.roles import perm
from crm.models import Client
from payments.adapters.bank_wire import BankWireAdapter, wire_reference_display
from payments.adapters.registry import adapter_for
from payments.deposits import services
from payments.models import Deposit, PaymentMethod


class NextActionOutput(serializers.Serializer):
    """What the client must do to pay; null once the deposit is final."""

    type = serializers.ChoiceField(choices=["redirect", "bank_wire", "crypto"])
    url = serializers.URLField(required=False, help_text="redirect: the provider's checkout page")
    reference = serializers.CharField(required=False, help_text="bank_wire: write it in the payment details")
    bank = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="bank_wire: beneficiary, bank, IBAN, BIC"
    )
    address = serializers.CharField(required=False, help_text="crypto: send to this address")
    network = serializers.CharField(required=False)
    required_confirmations = serializers.IntegerField(required=False)
    simulator = serializers.BooleanField(required=False, help_text="crypto: the built-in chain simulator")


class DepositOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    client = serializers.IntegerField(source="client_id", read_only=True)
    method = serializers.SlugRelatedField(slug_field="code", read_only=True)
    amount = serializers.SerializerMethodField()
    fee = serializers.SerializerMethodField()
    net = serializers.SerializerMethodField()
    requested_amount = serializers.SerializerMethodField()
    next_action = serializers.SerializerMethodField()

    class Meta:
        model = Deposit
        fields = [
            "id",
            "client",
            "method",
            "currency",
            "amount",
            "fee",
            "net",
            "requested_amount",
            "status",
            "failure_reason",
            "wire_reference",
            "crypto_address",
            "confirmations",
            "required_confirmations",
            "created_at",
            "completed_at",
            "next_action",
        ]

    def _money(self, deposit: Deposit, amount) -> str | None:
        return None if amount is None else str(quantize(amount, deposit.currency))

    def get_amount(self, deposit: Deposit) -> str:
        return self._money(deposit, deposit.amount)

    def get_fee(self, deposit: Deposit) -> str:
        return self._money(deposit, deposit.fee)

    def get_net(self, deposit: Deposit) -> str:
        return self._money(deposit, deposit.net)

    @extend_schema_field(OpenApiTypes.STR)
    def get_requested_amount(self, deposit: Deposit) -> str | None:
        return self._money(deposit, deposit.requested_amount)

    @extend_schema_field(NextActionOutput(allow_null=True))
    def get_next_action(self, deposit: Deposit) -> dict | None:
        if deposit.is_final or deposit.status == Deposit.Status.CONFIRMING:
            return None
        adapter = adapter_for(deposit.method)
        if deposit.checkout_url:
            request = self.context.get("request")
            url = request.build_absolute_uri(deposit.checkout_url) if request else deposit.checkout_url
            return {"type": "redirect", "url": url}
        if deposit.wire_reference and isinstance(adapter, BankWireAdapter):
            return {
                "type": "bank_wire",
                "reference": wire_reference_display(deposit.wire_reference),
                "bank": adapter.bank_details(),
            }
        if deposit.crypto_address:
            return {
                "type": "crypto",
                "address": deposit.crypto_address,
                "network": str(deposit.method.settings.get("network", "")),
                "required_confirmations": deposit.required_confirmations,
                "simulator": adapter.is_simulator,
            }
        return None


class DepositInput(serializers.Serializer):
    method = serializers.SlugRelatedField(
        slug_field="code", queryset=PaymentMethod.objects.all(), help_text="Payment method code, e.g. card"
    )
    currency = serializers.CharField(max_length=8)
    amount = serializers.CharField(max_length=40, help_text='A decimal string, e.g. "250.00"')

    def validate_amount(self, value: str):
        try:
            return parse_amount(value)
        except (ValueError, TypeError):
            raise serializers.ValidationError("Not an amount.") from None


class DepositFilter(django_filters.FilterSet):
    method = django_filters.CharFilter(field_name="method__code")
    client = django_filters.NumberFilter(field_name="client_id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Deposit
        fields = ["status", "currency", "method", "client", "created_after", "created_before"]


class CanSeeDeposits(IsActiveTenantUser):
    def has_permission(self, request, view) -> bool:
        user = request.user
        return super().has_permission(request, view) and (
            user.has_perm(perm("payments_view")) or user.has_perm(perm("portal_access"))
        )


class DepositViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Deposits. Staff with payments_view see every deposit; a client sees only their own."""

    permission_classes = [CanSeeDeposits]
    serializer_class = DepositOutput
    filterset_class = DepositFilter
    ordering_fields = ["created_at", "amount"]
    search_fields = ["client__email", "wire_reference"]
    lookup_field = "public_id"
    lookup_url_kwarg = "id"

    def get_queryset(self):
        deposits = Deposit.objects.select_related("method", "client")
        if getattr(self, "swagger_fake_view", False) or self.request.user.has_perm(perm("payments_view")):
            return deposits
        return deposits.filter(client__user=self.request.user)

    @extend_schema(
        request=DepositInput,
        responses={201: DepositOutput},
        parameters=[OpenApiParameter(HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)],
        description="Start a deposit for the signed-in client. The answer's next_action says what the client "
        "must do: open the checkout URL, send a wire with the reference, or send coins to the address.",
    )
    @idempotent
    def create(self, request):
        if not request.user.has_perm(perm("portal_access")):
            raise PermissionDenied("Only clients start deposits.")
        client = Client.objects.filter(user=request.user).first()
        if client is None:
            raise ApplicationError("No client profile is linked to this user.", code="no_client")
        data = DepositInput(data=request.data)
        data.is_valid(raise_exception=True)
        deposit = services.deposit_start(
            client=client,
            method=data.validated_data["method"],
            currency=data.validated_data["currency"].upper(),
            amount=data.validated_data["amount"],
            actor=request.user,
        )
        return Response(DepositOutput(deposit, context={"request": request}).data, status=status.HTTP_201_CREATED)
