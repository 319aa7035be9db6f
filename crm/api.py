from rest_framework import serializers, viewsets

from brokerage.permissions import HasCapability
from crm.models import Client


class ClientOutput(serializers.ModelSerializer):
    class Meta:
        model = Client
        fields = ["id", "first_name", "last_name", "email", "country", "status", "created_at"]


class ClientViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [HasCapability("crm_view_client")]
    serializer_class = ClientOutput
    queryset = Client.objects.all()
    filterset_fields = ["status", "country"]
    search_fields = ["first_name", "last_name", "email"]
    ordering_fields = ["created_at", "last_name"]
