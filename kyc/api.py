"""/api/v1/ for KYC: a client's verification file, uploading a document for them, the review queue.

Who may do what: everything here needs kyc_review, like the ops KYC pages, and reaches only the
clients the caller may see (crm.visibility): anyone else's id answers 404, like one that does not
exist. The document upload takes an `Idempotency-Key` like every other create; a bad file is a 400
with a field map (kyc.documents.document_upload says what is wrong). Errors have the one shape of
brokerage.errors.
"""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerage.idempotency import HEADER, idempotent
from brokerage.permissions import HasCapability
from crm.visibility import client_visible_or_404
from kyc.documents import document_upload
from kyc.models import Document, Review, RiskAssessment
from kyc.requirements import client_level, requirement_states
from kyc.review import review_queue

CanReview = HasCapability("kyc_review")
IDEMPOTENCY = OpenApiParameter(HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)


class DocumentOutput(serializers.ModelSerializer):
    class Meta:
        model = Document
        fields = [
            "id",
            "kind",
            "side",
            "status",
            "status_reason",
            "rejection_reason",
            "original_name",
            "content_type",
            "size",
            "issuing_country",
            "issued_on",
            "expires_on",
            "uploaded_at",
            "checked_at",
            "reviewed_at",
        ]


class LevelOutput(serializers.Serializer):
    number = serializers.IntegerField()
    name = serializers.CharField()


class RequirementOutput(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    state = serializers.ChoiceField(choices=["met", "waiting", "missing"])
    detail = serializers.CharField()


class RiskReasonOutput(serializers.Serializer):
    factor = serializers.CharField()
    points = serializers.IntegerField()
    text = serializers.CharField()


class RiskOutput(serializers.ModelSerializer):
    reasons = RiskReasonOutput(many=True)

    class Meta:
        model = RiskAssessment
        fields = ["level", "score", "reasons", "trigger", "created_at"]


class KycOutput(serializers.Serializer):
    client_id = serializers.IntegerField()
    kyc_status = serializers.CharField()
    level = LevelOutput(allow_null=True)
    requirements = RequirementOutput(many=True)
    risk = RiskOutput(allow_null=True)
    open_review_id = serializers.IntegerField(allow_null=True)
    documents = DocumentOutput(many=True)


class DocumentUploadInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Document.Kind.choices)
    side = serializers.ChoiceField(choices=Document.Side.choices, default=Document.Side.SINGLE)
    upload = serializers.FileField()
    mrz_text = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    issued_on = serializers.DateField(required=False, allow_null=True, default=None)
    address_text = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
    expires_on = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Read off a document without an MRZ (a driving licence).",
    )


class ReviewOutput(serializers.ModelSerializer):
    client_name = serializers.CharField(source="client.__str__", read_only=True)
    risk_level = serializers.CharField(source="client.risk_level", read_only=True)
    open_hits = serializers.IntegerField(read_only=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "client",
            "client_name",
            "risk_level",
            "status",
            "reasons",
            "opened_at",
            "first_approved_at",
            "open_hits",
        ]


class OldestFirst(CursorPagination):
    """The queue in SLA order, paged by cursor (no COUNT, no deep OFFSET)."""

    ordering = ("opened_at", "id")
    page_size = 50


class ClientKycView(APIView):
    permission_classes = [CanReview]

    @extend_schema(
        responses=KycOutput, description="The client's verification file: status, level, requirements, risk, documents."
    )
    def get(self, request, client_id: int):
        client = client_visible_or_404(request.user, client_id)
        states = requirement_states(client)
        level = client_level(client, states)
        review = Review.objects.filter(client=client, status__in=Review.OPEN_STATUSES).only("id").first()
        data = {
            "client_id": client.pk,
            "kyc_status": client.kyc_status,
            "level": {"number": level.number, "name": level.name} if level else None,
            "requirements": [asdict(requirement) for requirement in states.values()],
            "risk": RiskAssessment.objects.filter(client=client).first(),
            "open_review_id": review.pk if review else None,
            "documents": client.kyc_documents.exclude(status=Document.Status.REPLACED),
        }
        return Response(KycOutput(data).data)


class ClientDocumentUploadView(APIView):
    permission_classes = [CanReview]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": DocumentUploadInput},
        responses={201: DocumentOutput},
        parameters=[IDEMPOTENCY],
        description="Upload a document for the client (checked by content, size and type; then the automatic checks run).",
    )
    @idempotent
    def post(self, request, client_id: int):
        client = client_visible_or_404(request.user, client_id)
        values = DocumentUploadInput(data=request.data)
        values.is_valid(raise_exception=True)
        data = values.validated_data
        document = document_upload(
            client=client,
            kind=data["kind"],
            side=data["side"],
            upload=data["upload"],
            actor=request.user,
            mrz_text=data["mrz_text"],
            issued_on=data["issued_on"],
            address_text=data["address_text"],
            expires_on=data["expires_on"],
        )
        return Response(DocumentOutput(document).data, status=status.HTTP_201_CREATED)


class ReviewListView(generics.ListAPIView):
    permission_classes = [CanReview]
    serializer_class = ReviewOutput
    pagination_class = OldestFirst
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Review.objects.none()
        return review_queue(self.request.user)

    @extend_schema(description="Open reviews of the clients you may see, oldest first (the SLA clock).")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
