"""Kernel endpoints: who am I, staff, audit trail."""

import django_filters
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerage import staff as staff_services
from brokerage.models import AuditRecord, User
from brokerage.permissions import HasCapability, IsActiveTenantUser
from brokerage.roles import CAPABILITIES, STAFF_ROLES, Role
from brokerage.selectors import staff_list

STAFF_ROLE_VALUES = [r.value for r in Role if r in STAFF_ROLES]


class UserOutput(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "is_active", "roles", "date_joined", "last_login"]

    def get_roles(self, user: User) -> list[str]:
        return sorted(user.role_names)


class MeOutput(UserOutput):
    capabilities = serializers.ListField(child=serializers.CharField())

    class Meta(UserOutput.Meta):
        fields = [*UserOutput.Meta.fields, "capabilities"]


class MeView(APIView):
    permission_classes = [IsActiveTenantUser]

    @extend_schema(responses=MeOutput)
    def get(self, request):
        data = UserOutput(request.user).data
        data["capabilities"] = sorted(c for c in CAPABILITIES if request.user.has_perm(f"brokerage.{c}"))
        return Response(data)


class StaffInviteInput(serializers.Serializer):
    email = serializers.EmailField()
    first_name = serializers.CharField(max_length=100, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, allow_blank=True, default="")
    roles = serializers.ListField(child=serializers.ChoiceField(choices=STAFF_ROLE_VALUES), min_length=1)


class StaffUpdateInput(serializers.Serializer):
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=STAFF_ROLE_VALUES), min_length=1, required=False
    )
    is_active = serializers.BooleanField(required=False)


class StaffViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [HasCapability("staff_manage")]
    serializer_class = UserOutput
    search_fields = ["email", "first_name", "last_name"]
    filterset_fields = ["is_active"]
    ordering_fields = ["email", "date_joined"]

    def get_queryset(self):
        return staff_list()

    def create(self, request):
        data = StaffInviteInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = staff_services.staff_invite(
            **data.validated_data, actor=request.user, domain=request.get_host().split(":")[0]
        )
        return Response(UserOutput(user).data, status=status.HTTP_201_CREATED)

    @transaction.atomic  # roles and is_active change together or not at all
    def partial_update(self, request, pk=None):
        user = self.get_object()
        data = StaffUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        if "roles" in data.validated_data:
            user = staff_services.staff_set_roles(user=user, roles=data.validated_data["roles"], actor=request.user)
        if "is_active" in data.validated_data:
            user = staff_services.staff_set_active(
                user=user, is_active=data.validated_data["is_active"], actor=request.user
            )
        user = User.objects.get(pk=user.pk)
        return Response(UserOutput(user).data)

    @action(detail=False, methods=["get"])
    def roles(self, request):
        return Response([{"value": r.value, "label": r.label} for r in Role if r in STAFF_ROLES])


class AuditRecordOutput(serializers.ModelSerializer):
    class Meta:
        model = AuditRecord
        fields = [
            "id",
            "occurred_at",
            "actor_id",
            "actor_email",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "before",
            "after",
            "ip_address",
            "record_hash",
        ]


class AuditFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(lookup_expr="startswith")
    actor_email = django_filters.CharFilter(lookup_expr="icontains")
    since = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lte")

    class Meta:
        model = AuditRecord
        fields = ["action", "actor_email", "actor_id", "object_type", "object_id", "since", "until"]


class AuditViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [HasCapability("audit_view")]
    serializer_class = AuditRecordOutput
    queryset = AuditRecord.objects.all()
    filterset_class = AuditFilter
    ordering_fields = ["id", "occurred_at"]
