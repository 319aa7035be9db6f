"""/api/v1/ for wallets, the ledger, rates, conversions and trading-account transfers.

Who may do what:
- wallets/: a client lists their own wallets; staff with payments_view list every wallet (filters).
- ledger-transactions/: staff with payments_view, with lines; reverse/ needs payments_manage.
- rates/: every signed-in user reads the latest rates; staff with payments_manage add a manual rate.
- conversions/: a client quotes, converts (Idempotency-Key) and lists their own; staff with payments_view list all.
- trading-transfers/: the same shape, and 503 while no trading platform is connected.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from brokerage.idempotency import HEADER, idempotent
from brokerage.money import parse_amount
from brokerage.permissions import HasCapability, IsActiveTenantUser
from brokerage.roles import perm
from payments import selectors
from payments.models import Conversion, ExchangeRate, LedgerAccount, LedgerLine, LedgerTransaction, TradingTransfer
from payments.rates import is_stale, rate_set_manually
from payments.trading_gateway import GatewayNotConfigured, gateways_available
from payments.wallets.conversion import conversion_execute, conversion_quote
from payments.wallets.services import transaction_reverse_by_staff
from payments.wallets.trading import transfer_from_trading, transfer_to_trading


def _is_staff(user) -> bool:
    return user.has_perm(perm("payments_view"))


class StaffOrClient(IsActiveTenantUser):
    """Staff who may see payments, or a client of the portal (who then sees only their own)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return super().has_permission(request, view) and (_is_staff(user) or user.has_perm(perm("portal_access")))


def _own_client(request):
    """The caller's client record; a client-only endpoint refuses anyone without one."""
    client = selectors.client_of(request.user)
    if client is None or not request.user.has_perm(perm("portal_access")):
        raise PermissionDenied
    return client


class AmountField(serializers.CharField):
    """A decimal string ("250.00"), read without ever becoming a float."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("help_text", 'A decimal string, e.g. "250.00".')
        super().__init__(**kwargs)

    def run_validation(self, data=serializers.empty) -> Decimal:
        text = super().run_validation(data)
        try:
            return parse_amount(text)
        except (TypeError, ValueError):
            raise serializers.ValidationError("Not an amount.") from None


# Wallets -----------------------------------------------------------------------------------------


class WalletOutput(serializers.ModelSerializer):
    available = serializers.DecimalField(max_digits=30, decimal_places=8, read_only=True)

    class Meta:
        model = LedgerAccount
        fields = ["id", "client_id", "currency", "balance", "held", "available", "created_at"]


class WalletViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [StaffOrClient]
    serializer_class = WalletOutput
    filterset_fields = ["currency", "client"]
    ordering_fields = ["currency", "balance", "created_at"]

    def get_queryset(self):
        wallets = LedgerAccount.objects.filter(kind=LedgerAccount.Kind.CLIENT_WALLET)
        if _is_staff(self.request.user):
            return wallets.order_by("client_id", "currency")
        return wallets.filter(client=selectors.client_of(self.request.user)).order_by("currency")


# Ledger ------------------------------------------------------------------------------------------


class LineOutput(serializers.ModelSerializer):
    account = serializers.CharField(source="account.code", read_only=True)

    class Meta:
        model = LedgerLine
        fields = ["account_id", "account", "currency", "amount", "balance_after"]


class TransactionOutput(serializers.ModelSerializer):
    lines = LineOutput(many=True, read_only=True)
    created_by = serializers.CharField(source="created_by.email", read_only=True, default=None)

    class Meta:
        model = LedgerTransaction
        fields = [
            "id",
            "reference",
            "kind",
            "description",
            "client_id",
            "posted_at",
            "reverses_id",
            "created_by",
            "metadata",
            "lines",
        ]


class ReverseInput(serializers.Serializer):
    reason = serializers.CharField(max_length=250)


class LedgerTransactionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TransactionOutput
    filterset_fields = ["kind", "client", "reference"]
    ordering_fields = ["posted_at", "id"]

    def get_permissions(self):
        if self.action == "reverse":
            return [HasCapability("payments_manage")()]
        return [HasCapability("payments_view")()]

    def get_queryset(self):
        return selectors.transaction_list().order_by("-posted_at", "-id")

    @extend_schema(request=ReverseInput, responses={201: TransactionOutput})
    @action(detail=True, methods=["post"])
    @idempotent
    def reverse(self, request, pk=None):
        txn = self.get_object()
        data = ReverseInput(data=request.data)
        data.is_valid(raise_exception=True)
        reversal = transaction_reverse_by_staff(txn=txn, actor=request.user, reason=data.validated_data["reason"])
        reversal = selectors.transaction_list().get(pk=reversal.pk)
        return Response(TransactionOutput(reversal).data, status=status.HTTP_201_CREATED)


# Rates -------------------------------------------------------------------------------------------


class RateOutput(serializers.Serializer):
    base = serializers.CharField()
    quote = serializers.CharField()
    rate = serializers.DecimalField(max_digits=24, decimal_places=10)
    source = serializers.CharField()
    as_of = serializers.DateTimeField()
    is_stale = serializers.SerializerMethodField()

    def get_is_stale(self, rate) -> bool:
        return is_stale(rate)


class RateInput(serializers.Serializer):
    base = serializers.CharField(max_length=8)
    quote = serializers.CharField(max_length=8)
    rate = AmountField()
    as_of = serializers.DateTimeField(required=False)


class RateViewSet(viewsets.GenericViewSet):
    """GET: the latest rate of every pair. POST (payments_manage): a manual rate."""

    serializer_class = RateOutput
    queryset = ExchangeRate.objects.none()  # for the schema: the list is rates_latest()
    pagination_class = None

    def get_permissions(self):
        if self.action == "create":
            return [HasCapability("payments_manage")()]
        return [IsActiveTenantUser()]

    @extend_schema(responses=RateOutput(many=True))
    def list(self, request):
        return Response(RateOutput(selectors.rates_latest(), many=True).data)

    @extend_schema(request=RateInput, responses={201: RateOutput})
    def create(self, request):
        data = RateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        rate = rate_set_manually(
            base=values["base"].upper(),
            quote=values["quote"].upper(),
            rate=values["rate"],
            actor=request.user,
            as_of=values.get("as_of"),
        )
        return Response(RateOutput(rate).data, status=status.HTTP_201_CREATED)


# Conversions -------------------------------------------------------------------------------------


class ConversionInput(serializers.Serializer):
    from_currency = serializers.CharField(max_length=8)
    to_currency = serializers.CharField(max_length=8)
    amount = AmountField()
    min_to_amount = AmountField(
        required=False, help_text="Refuse (quote_changed) if the client would receive less than this."
    )


class QuoteOutput(serializers.Serializer):
    from_currency = serializers.CharField()
    to_currency = serializers.CharField()
    from_amount = serializers.DecimalField(max_digits=30, decimal_places=8)
    to_amount = serializers.DecimalField(max_digits=30, decimal_places=8)
    mid_rate = serializers.DecimalField(max_digits=40, decimal_places=16)
    rate = serializers.DecimalField(max_digits=40, decimal_places=16)
    markup_percent = serializers.DecimalField(max_digits=7, decimal_places=4)
    rate_source = serializers.CharField()
    rate_as_of = serializers.DateTimeField(allow_null=True)
    available = serializers.DecimalField(max_digits=30, decimal_places=8)


class ConversionOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Conversion
        fields = [
            "id",
            "client_id",
            "from_currency",
            "from_amount",
            "to_currency",
            "to_amount",
            "mid_rate",
            "rate",
            "markup_percent",
            "rate_source",
            "rate_as_of",
            "transaction_id",
            "created_at",
        ]


class StaffConversionOutput(ConversionOutput):
    class Meta(ConversionOutput.Meta):
        fields = [*ConversionOutput.Meta.fields, "revenue"]


class ConversionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [StaffOrClient]
    lookup_field = "public_id"
    filterset_fields = ["from_currency", "to_currency", "client"]
    ordering_fields = ["created_at"]

    def get_serializer_class(self):
        return StaffConversionOutput if _is_staff(self.request.user) else ConversionOutput

    def get_queryset(self):
        conversions = Conversion.objects.all()
        if _is_staff(self.request.user):
            return conversions
        return conversions.filter(client=selectors.client_of(self.request.user))

    @extend_schema(
        parameters=[
            OpenApiParameter("from_currency", str, required=True),
            OpenApiParameter("to_currency", str, required=True),
            OpenApiParameter("amount", str, required=True),
        ],
        responses=QuoteOutput,
    )
    @action(detail=False, methods=["get"])
    def quote(self, request):
        client = _own_client(request)
        data = ConversionInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        quote = conversion_quote(
            client=client,
            from_currency=values["from_currency"].upper(),
            to_currency=values["to_currency"].upper(),
            amount=values["amount"],
        )
        return Response(QuoteOutput(quote).data)

    @extend_schema(request=ConversionInput, responses={201: ConversionOutput})
    @idempotent
    def create(self, request):
        client = _own_client(request)
        data = ConversionInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        conversion = conversion_execute(
            client=client,
            from_currency=values["from_currency"].upper(),
            to_currency=values["to_currency"].upper(),
            amount=values["amount"],
            request_key=request.headers[HEADER].strip(),
            actor=request.user,
            min_to_amount=values.get("min_to_amount"),
        )
        return Response(ConversionOutput(conversion).data, status=status.HTTP_201_CREATED)


# Trading transfers -------------------------------------------------------------------------------


class TradingTransferInput(serializers.Serializer):
    direction = serializers.ChoiceField(choices=TradingTransfer.Direction.choices)
    login = serializers.CharField(max_length=40)
    currency = serializers.CharField(max_length=8)
    amount = AmountField()


class TradingTransferOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = TradingTransfer
        fields = [
            "id",
            "client_id",
            "account_login",
            "direction",
            "currency",
            "amount",
            "status",
            "platform_reference",
            "failure_reason",
            "transaction_id",
            "created_at",
            "updated_at",
        ]


class TradingTransferViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [StaffOrClient]
    serializer_class = TradingTransferOutput
    lookup_field = "public_id"
    filterset_fields = ["status", "direction", "currency", "client"]
    ordering_fields = ["created_at"]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not gateways_available():
            raise GatewayNotConfigured()

    def get_queryset(self):
        transfers = TradingTransfer.objects.all()
        if _is_staff(self.request.user):
            return transfers
        return transfers.filter(client=selectors.client_of(self.request.user))

    @extend_schema(request=TradingTransferInput, responses={201: TradingTransferOutput})
    @idempotent
    def create(self, request):
        client = _own_client(request)
        data = TradingTransferInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        start = (
            transfer_to_trading
            if values["direction"] == TradingTransfer.Direction.TO_ACCOUNT
            else transfer_from_trading
        )
        transfer = start(
            client=client,
            currency=values["currency"].upper(),
            login=values["login"],
            amount=values["amount"],
            actor=request.user,
        )
        return Response(TradingTransferOutput(transfer).data, status=status.HTTP_201_CREATED)
