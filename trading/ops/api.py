"""/api/v1/ for trading: platforms, accounts, deals, positions, symbols, a client's trading summary.

Staff: trading_view reads, trading_manage changes; a platform's connection is configuration.
Clients (portal_access), for a trader's app: accounts, deals and positions of their own accounts only,
and opening an account (POST accounts/ with an Idempotency-Key); staff with trading_manage open one
for a client by naming it. Every permission is checked before the Idempotency-Key is asked for.
Platform secrets (manager password, push secret) never appear in any output.
"""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerage.errors import ApplicationError
from brokerage.idempotency import HEADER, idempotent
from brokerage.permissions import HasCapability, IsActiveTenantUser
from brokerage.roles import perm
from crm.models import Client
from trading import selectors, services
from trading.models import Deal, Platform, Position, Symbol, TradingAccount
from trading.ops import services as ops_services
from trading.ops.services import MAX_LEVERAGE, REASON_MAX, SYMBOL_FIELDS
from trading.platforms import platform_check

MANAGE_ACTIONS = {"test_connection", "leverage", "group", "enable", "disable", "update", "partial_update"}
# Logins and symbol names in API paths: anything but a slash, a dot (DRF's default) or a NUL byte.
LOOKUP_REGEX = r"[^/.\x00]+"


class TradingPermissions:
    """trading_view to read; trading_manage for the actions that change something."""

    def get_permissions(self):
        capability = "trading_manage" if self.action in MANAGE_ACTIONS else "trading_view"
        return [HasCapability(capability)()]


def is_trading_staff(user) -> bool:
    return user.has_perm(perm("trading_view"))


def own_client(user) -> Client | None:
    """The caller's client record when they are a portal client, else None."""
    if not user.has_perm(perm("portal_access")):
        return None
    return Client.objects.filter(user=user).first()


class StaffOrOwnClient(IsActiveTenantUser):
    """Reads: staff with trading_view (everything), or a portal client (their own accounts only)."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        return is_trading_staff(request.user) or own_client(request.user) is not None


class CanOpenAccount(IsActiveTenantUser):
    """Opening an account: staff with trading_manage (for a named client), or a client for themselves."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.user.has_perm(perm("trading_manage")) or own_client(request.user) is not None


class ClientReadable:
    """Accounts, deals and positions: staff see all; a client only rows of their own accounts."""

    def get_permissions(self):
        if self.action in MANAGE_ACTIONS:
            return [HasCapability("trading_manage")()]
        if self.action == "create":
            return [CanOpenAccount()]
        return [StaffOrOwnClient()]

    def restrict(self, rows, client_path: str):
        user = self.request.user
        if is_trading_staff(user):
            return rows
        client = own_client(user)
        return rows.filter(**{client_path: client}) if client is not None else rows.none()


# Platforms -----------------------------------------------------------------------------------------


class PlatformOutput(serializers.ModelSerializer):
    account_count = serializers.IntegerField(read_only=True)
    open_problems = serializers.IntegerField(read_only=True)
    has_manager_password = serializers.SerializerMethodField()

    class Meta:
        model = Platform
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "environment",
            "server",
            "manager_login",
            "has_manager_password",
            "default_group",
            "login_range_start",
            "is_active",
            "health",
            "health_message",
            "health_checked_at",
            "last_sync_at",
            "deals_synced_to",
            "account_count",
            "open_problems",
        ]

    def get_has_manager_password(self, platform) -> bool:
        return bool(platform.manager_password)


class PlatformViewSet(TradingPermissions, viewsets.ReadOnlyModelViewSet):
    serializer_class = PlatformOutput
    lookup_field = "code"
    filterset_fields = ["kind", "environment", "is_active", "health"]
    ordering_fields = ["name", "code"]

    def get_queryset(self):
        return Platform.objects.annotate(
            account_count=Count("accounts", distinct=True),
            open_problems=Count("problems", filter=Q(problems__resolved_at__isnull=True), distinct=True),
        ).order_by("name")

    @extend_schema(request=None, responses=PlatformOutput)
    @action(detail=True, methods=["post"], url_path="test-connection")
    def test_connection(self, request, code=None):
        """Ping the platform now; the answer is the platform with its health as just recorded."""
        platform = self.get_object()
        platform_check(platform)
        return Response(PlatformOutput(self.get_queryset().get(pk=platform.pk)).data)


# Accounts ------------------------------------------------------------------------------------------


class AccountOutput(serializers.ModelSerializer):
    platform = serializers.CharField(source="platform.code", read_only=True)
    state_is_stale = serializers.BooleanField(read_only=True)

    class Meta:
        model = TradingAccount
        fields = [
            "id",
            "login",
            "platform",
            "client_id",
            "is_demo",
            "group",
            "leverage",
            "currency",
            "status",
            "balance",
            "credit",
            "equity",
            "margin",
            "margin_free",
            "margin_level",
            "state_at",
            "state_is_stale",
            "created_at",
        ]


class AccountFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Login, client name or email")
    platform = django_filters.CharFilter(field_name="platform__code", label="Platform code")
    client = django_filters.NumberFilter(field_name="client_id")

    class Meta:
        model = TradingAccount
        fields = ["login", "platform", "client", "is_demo", "status", "currency"]

    def search(self, queryset, name, value):
        return queryset.filter(selectors.account_search_q(value))


@extend_schema_serializer(
    examples=[
        OpenApiExample("Raise to 1:100", value={"leverage": 100}, request_only=True),
        OpenApiExample("Lower under open positions", value={"leverage": 30, "confirm": True}, request_only=True),
    ]
)
class LeverageInput(serializers.Serializer):
    leverage = serializers.IntegerField(
        min_value=1, max_value=MAX_LEVERAGE, help_text="One of the broker's leverage choices, e.g. 100 for 1:100."
    )
    confirm = serializers.BooleanField(
        default=False,
        help_text="Required (true) when lowering the leverage would put the projected margin level under 100 %; "
        "without it the answer is 400 confirmation_required naming the projected level.",
    )

    def validate_leverage(self, value: int) -> int:
        try:
            ops_services.leverage_offered(value)
        except ApplicationError as error:
            raise serializers.ValidationError(error.message) from None
        return value


class DisableInput(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX, help_text="Why; kept in the audit trail.")


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A client opens a live USD account",
            value={"is_demo": False, "leverage": 100, "currency": "USD"},
            request_only=True,
        ),
        OpenApiExample(
            "Staff open a demo account for client 42",
            value={"client": 42, "is_demo": True, "leverage": 100, "currency": "EUR"},
            request_only=True,
        ),
    ]
)
class AccountOpenInput(serializers.Serializer):
    is_demo = serializers.BooleanField(default=False, help_text="true for a demo account with play money.")
    leverage = serializers.IntegerField(
        min_value=1, max_value=MAX_LEVERAGE, help_text="One of the broker's leverage choices, e.g. 100 for 1:100."
    )
    currency = serializers.CharField(max_length=8, help_text="One of the broker's account currencies, e.g. USD.")
    client = serializers.IntegerField(
        required=False, help_text="Staff only (required for them): the client the account is for."
    )


class GroupInput(serializers.Serializer):
    group = serializers.CharField(max_length=100)


class AccountViewSet(ClientReadable, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Trading accounts. Staff (trading_view) see all; a client sees only their own."""

    serializer_class = AccountOutput
    lookup_field = "login"
    lookup_value_regex = LOOKUP_REGEX
    filterset_class = AccountFilter
    ordering_fields = ["created_at", "login", "balance", "equity"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema needs the model, not the stale cutoff
            return TradingAccount.objects.none()
        return self.restrict(selectors.account_list(), "client")

    def _done(self, account, *, status_code: int = status.HTTP_200_OK):
        return Response(AccountOutput(selectors.account_list().get(pk=account.pk)).data, status=status_code)

    @extend_schema(
        request=AccountOpenInput,
        responses={201: AccountOutput},
        parameters=[OpenApiParameter(HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)],
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        """Open a live or demo account on the broker's platform (a client for themselves; staff with
        trading_manage for the client they name). 503 when the platform does not answer."""
        data = AccountOpenInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if request.user.has_perm(perm("trading_manage")):
            if "client" not in values:
                raise serializers.ValidationError({"client": ["Name the client the account is for."]})
            client = Client.objects.filter(pk=values["client"]).first()
            if client is None:
                raise serializers.ValidationError({"client": ["No such client."]})
        else:
            client = own_client(request.user)
            if values.get("client", client.pk) != client.pk:
                raise serializers.ValidationError({"client": ["You can open accounts only for yourself."]})
        account = services.account_open(
            client=client,
            is_demo=values["is_demo"],
            leverage=values["leverage"],
            currency=values["currency"].upper(),
            actor=request.user,
        )
        return self._done(account, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=LeverageInput, responses=AccountOutput)
    @action(detail=True, methods=["post"])
    def leverage(self, request, login=None):
        """Change the leverage on the platform, then here (audited): one of the broker's choices.
        Lowering it under open positions so that the projected margin level falls below 100 % needs
        "confirm": true (else 400 confirmation_required). 503 when the platform is down."""
        account = self.get_object()
        data = LeverageInput(data=request.data)
        data.is_valid(raise_exception=True)
        ops_services.account_leverage_set(
            account,
            leverage=data.validated_data["leverage"],
            confirm=data.validated_data["confirm"],
            actor=request.user,
        )
        return self._done(account)

    @extend_schema(request=GroupInput, responses=AccountOutput)
    @action(detail=True, methods=["post"])
    def group(self, request, login=None):
        account = self.get_object()
        data = GroupInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.account_group_change(account, group=data.validated_data["group"], actor=request.user)
        return self._done(account)

    @extend_schema(request=None, responses=AccountOutput)
    @action(detail=True, methods=["post"])
    def enable(self, request, login=None):
        account = self.get_object()
        services.account_status_set(account, enabled=True, actor=request.user)
        return self._done(account)

    @extend_schema(request=DisableInput, responses=AccountOutput)
    @action(detail=True, methods=["post"])
    def disable(self, request, login=None):
        """Disable on the platform, with the reason (kept in the audit trail)."""
        account = self.get_object()
        data = DisableInput(data=request.data)
        data.is_valid(raise_exception=True)
        ops_services.account_status_change(
            account, enabled=False, reason=data.validated_data["reason"], actor=request.user
        )
        return self._done(account)


# Deals and positions -------------------------------------------------------------------------------


class DealOutput(serializers.ModelSerializer):
    platform = serializers.CharField(source="platform.code", read_only=True)
    currency = serializers.CharField(
        source="account.currency",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="The account's currency (of profit, commission, swap, fee); null for an unknown login.",
    )
    symbol = serializers.CharField(source="symbol_name", read_only=True, help_text="The name the platform reported.")
    instrument = serializers.CharField(
        source="symbol.name", read_only=True, allow_null=True, default=None, help_text="The symbol it resolves to."
    )
    is_demo = serializers.SerializerMethodField(help_text="true for deals of a demo platform (play money).")
    description = serializers.CharField(
        read_only=True, help_text="What the deal was, in words (wallet transfers by their direction)."
    )

    class Meta:
        model = Deal
        fields = [
            "id",
            "platform",
            "is_demo",
            "ticket",
            "login",
            "account_id",
            "time",
            "symbol",
            "instrument",
            "action",
            "entry",
            "order",
            "position_id",
            "volume",
            "price",
            "currency",
            "profit",
            "commission",
            "swap",
            "fee",
            "description",
            "comment",
            "booking",
        ]

    def get_is_demo(self, deal: Deal) -> bool:
        return deal.platform.environment == Platform.Environment.DEMO


class ClientDealOutput(DealOutput):
    """A client's view: what the deal was, without our internal comment tags and booking states."""

    class Meta(DealOutput.Meta):
        fields = [name for name in DealOutput.Meta.fields if name not in ("comment", "booking", "account_id")]


def _demo_filter(queryset, name, value):
    environment = Platform.Environment.DEMO if value else Platform.Environment.LIVE
    return queryset.filter(platform__environment=environment)


class DealFilter(django_filters.FilterSet):
    platform = django_filters.CharFilter(field_name="platform__code", label="Platform code")
    symbol = django_filters.CharFilter(method="by_symbol", label="Symbol name or alias")
    ticket = django_filters.NumberFilter(method="by_ticket", label="Deal ticket")
    time_after = django_filters.IsoDateTimeFilter(field_name="time", lookup_expr="gte", label="From (inclusive)")
    time_before = django_filters.IsoDateTimeFilter(field_name="time", lookup_expr="lt", label="Until (exclusive)")
    is_demo = django_filters.BooleanFilter(method=_demo_filter, label="Demo (true) or live (false) platforms only")

    class Meta:
        model = Deal
        fields = ["login", "ticket", "action", "entry", "booking", "platform", "symbol", "position_id"]

    def by_symbol(self, queryset, name, value):
        return queryset.filter(selectors.symbol_match_q(value))

    def by_ticket(self, queryset, name, value):
        # Through the (platform, ticket) unique key: a ticket alone would scan the table.
        return queryset.filter(platform_id__in=Platform.objects.values_list("pk", flat=True), ticket=value)


class DealCursor(CursorPagination):
    """Newest first; a cursor page costs the same at any depth and counts nothing."""

    ordering = ("-time", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class DealViewSet(ClientReadable, viewsets.ReadOnlyModelViewSet):
    """Deals. Staff (trading_view) see all; a client only those of their own accounts."""

    serializer_class = DealOutput
    pagination_class = DealCursor

    def get_serializer_class(self):
        return DealOutput if is_trading_staff(self.request.user) else ClientDealOutput

    filter_backends = [DjangoFilterBackend]
    filterset_class = DealFilter

    def get_queryset(self):
        return self.restrict(Deal.objects.select_related("platform", "symbol", "account"), "account__client")


class PositionOutput(serializers.ModelSerializer):
    platform = serializers.CharField(source="platform.code", read_only=True)
    is_demo = serializers.SerializerMethodField(help_text="true for positions on a demo platform (play money).")
    symbol = serializers.CharField(source="symbol_name", read_only=True)
    currency = serializers.CharField(
        source="account.currency",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="The account's currency (of profit and swap); null for an unknown login.",
    )

    class Meta:
        model = Position
        fields = [
            "id",
            "platform",
            "is_demo",
            "ticket",
            "login",
            "account_id",
            "symbol",
            "side",
            "volume",
            "open_price",
            "current_price",
            "currency",
            "profit",
            "swap",
            "opened_at",
            "updated_at",
        ]

    def get_is_demo(self, position: Position) -> bool:
        return position.platform.environment == Platform.Environment.DEMO


class PositionFilter(django_filters.FilterSet):
    platform = django_filters.CharFilter(field_name="platform__code", label="Platform code")
    is_demo = django_filters.BooleanFilter(method=_demo_filter, label="Demo (true) or live (false) platforms only")
    symbol = django_filters.CharFilter(method="by_symbol", label="Symbol name or alias")

    class Meta:
        model = Position
        fields = ["login", "side", "platform", "symbol"]

    def by_symbol(self, queryset, name, value):
        return queryset.filter(selectors.symbol_match_q(value))


class PositionViewSet(ClientReadable, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Open positions. Staff (trading_view) see all; a client only those of their own accounts."""

    serializer_class = PositionOutput
    filterset_class = PositionFilter
    ordering_fields = ["opened_at", "profit", "volume"]

    def get_queryset(self):
        positions = Position.objects.select_related("platform", "account").order_by("-opened_at", "-ticket")
        return self.restrict(positions, "account__client")


# Symbols -------------------------------------------------------------------------------------------


class SymbolOutput(serializers.ModelSerializer):
    aliases = serializers.SlugRelatedField(many=True, read_only=True, slug_field="alias")

    class Meta:
        model = Symbol
        fields = ["id", "name", *SYMBOL_FIELDS, "aliases"]


class SymbolInput(serializers.ModelSerializer):
    class Meta:
        model = Symbol
        fields = SYMBOL_FIELDS


class SymbolViewSet(TradingPermissions, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = SymbolOutput
    lookup_field = "name"
    lookup_value_regex = LOOKUP_REGEX
    filterset_fields = ["calc_mode", "is_active"]
    ordering_fields = ["name"]

    def get_queryset(self):
        return Symbol.objects.prefetch_related("aliases").order_by("name")

    @extend_schema(request=SymbolInput, responses=SymbolOutput)
    def update(self, request, *args, **kwargs):
        symbol = self.get_object()
        data = SymbolInput(symbol, data=request.data, partial=kwargs.get("partial", False))
        data.is_valid(raise_exception=True)
        ops_services.symbol_update(symbol=symbol, values=data.validated_data, actor=request.user)
        return Response(SymbolOutput(self.get_queryset().get(pk=symbol.pk)).data)

    @extend_schema(request=SymbolInput, responses=SymbolOutput)
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


# A client's trading summary ------------------------------------------------------------------------


class AccountSummaryOutput(serializers.Serializer):
    account = AccountOutput()
    is_stale = serializers.BooleanField()
    deal_count = serializers.IntegerField()
    volume_lots = serializers.DecimalField(max_digits=24, decimal_places=4)
    notional = serializers.DecimalField(
        max_digits=30, decimal_places=8, allow_null=True, help_text="In the account currency; null without a rate."
    )
    realised_pnl = serializers.DecimalField(max_digits=30, decimal_places=8)
    floating_pnl = serializers.DecimalField(max_digits=30, decimal_places=8)
    open_positions = serializers.IntegerField()
    notional_gaps = serializers.ListField(child=serializers.CharField())


class SummaryTotalOutput(serializers.Serializer):
    is_demo = serializers.BooleanField()
    currency = serializers.CharField()
    notional = serializers.DecimalField(max_digits=30, decimal_places=8)
    realised_pnl = serializers.DecimalField(max_digits=30, decimal_places=8)
    floating_pnl = serializers.DecimalField(max_digits=30, decimal_places=8)
    complete = serializers.BooleanField(help_text="False when some deals' notional could not be converted.")


class TradingSummaryOutput(serializers.Serializer):
    client_id = serializers.IntegerField(source="client.pk")
    since = serializers.DateTimeField(allow_null=True)
    deal_count = serializers.IntegerField(help_text="Deals of live accounts.")
    volume_lots = serializers.DecimalField(max_digits=24, decimal_places=4, help_text="Lots of live accounts.")
    demo_deal_count = serializers.IntegerField()
    demo_volume_lots = serializers.DecimalField(max_digits=24, decimal_places=4)
    totals = SummaryTotalOutput(many=True)
    accounts = AccountSummaryOutput(many=True)


class TradingSummaryView(APIView):
    permission_classes = [HasCapability("trading_view")]

    @extend_schema(
        parameters=[OpenApiParameter("days", int, description="Only deals of the last N days (default: all time).")],
        responses=TradingSummaryOutput,
    )
    def get(self, request, client_id: int):
        client = get_object_or_404(Client, pk=client_id)
        days = request.query_params.get("days", "")
        since = None
        if days:
            if not days.isdigit() or not 1 <= int(days) <= 3650:
                raise serializers.ValidationError({"days": ["A whole number of days, 1 to 3650."]})
            since = timezone.now() - timedelta(days=int(days))
        summary = selectors.client_trading_summary(client, since=since)
        return Response(TradingSummaryOutput(summary).data)
