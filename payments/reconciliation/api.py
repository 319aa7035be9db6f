"""/api/v1/statements/ and /api/v1/statement-entries/: import statements and work the exception queue.

Reading needs payments_view; uploading and resolving need payments_manage.
Both writes can move money (an import confirms wire deposits, a link confirms
one), so both take an `Idempotency-Key`.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from brokerage.idempotency import idempotent
from brokerage.permissions import HasCapability
from payments.models import Deposit, PaymentMethod, StatementEntry, StatementImport
from payments.reconciliation import selectors, services
from payments.reconciliation.forms import UPLOAD_FORMATS
from payments.reconciliation.parsers import MAX_BYTES


class EntryOutput(serializers.ModelSerializer):
    statement = serializers.IntegerField(source="statement_id")
    deposit = serializers.UUIDField(source="deposit.public_id", allow_null=True, default=None)
    withdrawal = serializers.UUIDField(source="withdrawal.public_id", allow_null=True, default=None)
    resolved_by = serializers.EmailField(source="resolved_by.email", allow_null=True, default=None)

    class Meta:
        model = StatementEntry
        fields = [
            "id",
            "statement",
            "line_no",
            "booking_date",
            "value_date",
            "amount",
            "fee",
            "currency",
            "reference",
            "remittance",
            "counterparty",
            "counterparty_account",
            "entry_type",
            "missing_in_file",
            "status",
            "reason",
            "deposit",
            "withdrawal",
            "resolved_by",
            "resolved_at",
            "resolution_note",
        ]


class StatementOutput(serializers.ModelSerializer):
    method = serializers.SlugRelatedField(slug_field="code", read_only=True)
    imported_by = serializers.EmailField(source="imported_by.email", allow_null=True, default=None)
    entry_count = serializers.IntegerField(read_only=True)
    settled_count = serializers.IntegerField(read_only=True)
    exception_count = serializers.IntegerField(read_only=True)
    closed_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = StatementImport
        fields = [
            "id",
            "format",
            "method",
            "filename",
            "sha256",
            "account",
            "currency",
            "statement_date",
            "opening_balance",
            "closing_balance",
            "balances_agree",
            "balance_detail",
            "imported_by",
            "imported_at",
            "entry_count",
            "settled_count",
            "exception_count",
            "closed_count",
        ]


class StatementDetailOutput(StatementOutput):
    entries = EntryOutput(many=True, read_only=True)

    class Meta(StatementOutput.Meta):
        fields = [*StatementOutput.Meta.fields, "entries"]


class StatementUploadInput(serializers.Serializer):
    file = serializers.FileField(max_length=255)
    format = serializers.ChoiceField(choices=UPLOAD_FORMATS)
    method = serializers.SlugRelatedField(
        slug_field="code", queryset=PaymentMethod.objects.all(), required=False, allow_null=True, default=None
    )

    def validate_file(self, upload):
        if upload.size > MAX_BYTES:
            raise serializers.ValidationError(f"The file is larger than {MAX_BYTES // 1048576} MB.")
        return upload


class EntryResolveInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=["link", "resolve", "ignore"])
    deposit = serializers.UUIDField(required=False, help_text="public id of the deposit to confirm (action link)")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate(self, data):
        if data["action"] == "link" and not data.get("deposit"):
            raise serializers.ValidationError({"deposit": ["Required to link a deposit."]})
        return data


class _ReadOrManage:
    """Reading with payments_view, writing with payments_manage."""

    def get_permissions(self):
        capability = "payments_view" if self.request.method in ("GET", "HEAD", "OPTIONS") else "payments_manage"
        return [HasCapability(capability)()]


class StatementViewSet(_ReadOrManage, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    filterset_fields = ["format", "balances_agree"]
    ordering_fields = ["imported_at", "statement_date"]

    def get_queryset(self):
        statements = selectors.statement_list()
        if self.action == "retrieve":
            statements = statements.prefetch_related("entries__deposit", "entries__withdrawal", "entries__resolved_by")
        return statements

    def get_serializer_class(self):
        return StatementDetailOutput if self.action == "retrieve" else StatementOutput

    @extend_schema(request=StatementUploadInput, responses={201: StatementDetailOutput})
    @idempotent
    def create(self, request):
        data = StatementUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        statement = services.statement_import(
            data=upload.read(),
            filename=upload.name,
            format=data.validated_data["format"],
            method=data.validated_data["method"],
            actor=request.user,
        )
        statement = self.get_queryset().prefetch_related("entries").get(pk=statement.pk)
        return Response(StatementDetailOutput(statement).data, status=status.HTTP_201_CREATED)


class StatementEntryViewSet(_ReadOrManage, viewsets.ReadOnlyModelViewSet):
    serializer_class = EntryOutput
    filterset_fields = ["status", "statement", "currency", "missing_in_file"]
    ordering_fields = ["booking_date", "amount", "id"]

    def get_queryset(self):
        return selectors.entry_list().order_by("booking_date", "statement_id", "line_no")

    @extend_schema(request=EntryResolveInput, responses=EntryOutput)
    @action(detail=True, methods=["post"])
    @idempotent
    def resolve(self, request, pk=None):
        entry = self.get_object()
        data = EntryResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        action_name, note = data.validated_data["action"], data.validated_data["note"]
        if action_name == "link":
            deposit = get_object_or_404(Deposit, public_id=data.validated_data["deposit"])
            entry = services.entry_link_deposit(entry=entry, deposit=deposit, note=note, actor=request.user)
        else:
            entry = services.entry_resolve(entry=entry, ignore=action_name == "ignore", note=note, actor=request.user)
        return Response(EntryOutput(selectors.entry_list().get(pk=entry.pk)).data)
