"""/api/v1/withdrawals/: clients request, follow and cancel their own; finance reviews them all.

Who may do what:
- a client (portal_access): create, list, retrieve and cancel their own withdrawals;
- staff with payments_view: list and retrieve every withdrawal, with filters;
- staff with payments_approve: approve and reject (the four-eyes rules of the service apply),
  fail a payout that will not be made (the funds go back to the client),
  and create a withdrawal on a client's behalf (they become its maker and cannot approve it).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from brokerage.errors import ApplicationError
from brokerage.idempotency import idempotent
from brokerage.money import parse_amount
from brokerage.permissions import HasCapability, IsActiveTenantUser
from brokerage.roles import perm
from crm.models import Client
from payments.models import PaymentMethod, Withdrawal
from payments.withdrawals import selectors, services


def _is_staff(user) -> bool:
    return user.has_perm(perm("payments_view"))


class CanUseWithdrawals(IsActiveTenantUser):
    """Staff who may see payments, or a client of the portal."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return super().has_permission(request, view) and (_is_staff(user) or user.has_perm(perm("portal_access")))


class WithdrawalInput(serializers.Serializer):
    method = serializers.SlugRelatedField(slug_field="code", queryset=PaymentMethod.objects.all())
    currency = serializers.CharField(max_length=8)
    amount = serializers.CharField(max_length=40, help_text='A decimal string, e.g. "250.00".')
    destination = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        default=dict,
        help_text='Bank wire: {"iban", "bic", "holder"}; crypto: {"address"}; card: {"card": deposit id} (optional).',
    )
    client = serializers.IntegerField(required=False, help_text="Staff only: the client to withdraw for.")


class DecisionInput(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RejectInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class TimelineOutput(serializers.Serializer):
    status = serializers.CharField()
    label = serializers.CharField()
    note = serializers.CharField()
    who = serializers.CharField()
    when = serializers.DateTimeField()


class WithdrawalOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    method = serializers.CharField(source="method.code", read_only=True)
    payout_amount = serializers.DecimalField(max_digits=30, decimal_places=8, read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Withdrawal
        fields = [
            "id",
            "method",
            "currency",
            "amount",
            "fee",
            "payout_amount",
            "destination",
            "status",
            "status_display",
            "reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class StaffWithdrawalOutput(WithdrawalOutput):
    client = serializers.IntegerField(source="client_id", read_only=True)
    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None)
    transaction = serializers.CharField(source="transaction.reference", read_only=True, default=None)

    class Meta(WithdrawalOutput.Meta):
        fields = [
            *WithdrawalOutput.Meta.fields,
            "client",
            "created_by",
            "needs_four_eyes",
            "auto_approved",
            "review_reasons",
            "payout_reference",
            "psp_reference",
            "transaction",
        ]
        read_only_fields = fields


class WithdrawalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_field = "public_id"
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    filterset_fields = ["status", "currency", "client", "needs_four_eyes"]
    ordering_fields = ["created_at", "amount"]
    ordering = ["-created_at"]

    def get_permissions(self) -> list[BasePermission]:
        if self.action in ("approve", "reject", "fail"):
            return [HasCapability("payments_approve")()]
        return [CanUseWithdrawals()]

    def get_queryset(self):
        withdrawals = Withdrawal.objects.select_related("client", "method", "created_by", "transaction")
        user = self.request.user
        if _is_staff(user):
            return withdrawals.order_by("-created_at", "-id")
        client = selectors.client_of(user)
        return withdrawals.filter(client=client).order_by("-created_at", "-id") if client else withdrawals.none()

    def get_serializer_class(self):
        if getattr(self, "swagger_fake_view", False) or _is_staff(self.request.user):
            return StaffWithdrawalOutput
        return WithdrawalOutput

    def _output(self, withdrawal: Withdrawal, *, timeline: bool = False, code: int = status.HTTP_200_OK) -> Response:
        data = self.get_serializer(withdrawal).data
        if timeline:
            entries = selectors.withdrawal_timeline(withdrawal, for_staff=_is_staff(self.request.user))
            data["timeline"] = TimelineOutput(entries, many=True).data
        return Response(data, status=code)

    def retrieve(self, request, *args, **kwargs):
        return self._output(self.get_object(), timeline=True)

    @extend_schema(request=WithdrawalInput, responses={201: StaffWithdrawalOutput})
    @idempotent
    def create(self, request):
        data = WithdrawalInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if _is_staff(request.user):
            if not request.user.has_perm(perm("payments_approve")):
                raise PermissionDenied
            if "client" not in values:
                raise ApplicationError("Say which client the withdrawal is for.", fields={"client": ["Required."]})
            client = get_object_or_404(Client, pk=values["client"])
        else:
            client = selectors.client_of(request.user)
            if client is None:
                raise PermissionDenied
        try:
            amount = parse_amount(values["amount"])
        except ValueError:
            raise ApplicationError("The amount is not a number.", fields={"amount": ["Not a number."]}) from None
        withdrawal = services.withdrawal_request(
            client=client,
            method=values["method"],
            currency=values["currency"],
            amount=amount,
            destination=values["destination"],
            actor=request.user,
        )
        return self._output(withdrawal, timeline=True, code=status.HTTP_201_CREATED)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def cancel(self, request, public_id=None):
        withdrawal = self.get_object()
        if withdrawal.client.user_id != request.user.pk:
            raise PermissionDenied  # staff reject; only the client takes a request back
        return self._output(services.withdrawal_cancel(withdrawal=withdrawal, actor=request.user), timeline=True)

    @extend_schema(request=DecisionInput)
    @action(detail=True, methods=["post"])
    def approve(self, request, public_id=None):
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        withdrawal = services.withdrawal_approve(
            withdrawal=self.get_object(), actor=request.user, note=data.validated_data["note"]
        )
        return self._output(withdrawal, timeline=True)

    @extend_schema(request=RejectInput)
    @action(detail=True, methods=["post"])
    def reject(self, request, public_id=None):
        data = RejectInput(data=request.data)
        data.is_valid(raise_exception=True)
        withdrawal = services.withdrawal_reject(
            withdrawal=self.get_object(), actor=request.user, reason=data.validated_data["reason"]
        )
        return self._output(withdrawal, timeline=True)

    @extend_schema(request=RejectInput)
    @action(detail=True, methods=["post"])
    def fail(self, request, public_id=None):
        """Mark an approved or processing payout as failed (bank returned the wire, PSP never answered)."""
        data = RejectInput(data=request.data)
        data.is_valid(raise_exception=True)
        withdrawal = services.withdrawal_payout_fail(
            withdrawal=self.get_object(), actor=request.user, reason=data.validated_data["reason"]
        )
        return self._output(withdrawal, timeline=True)
