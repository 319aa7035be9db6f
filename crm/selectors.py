from django.db.models import Q, QuerySet

from crm.models import Client


def client_list(*, search: str = "", status: str = "") -> QuerySet[Client]:
    clients = Client.objects.all()
    if search:
        clients = clients.filter(
            Q(first_name__icontains=search) | Q(last_name__icontains=search) | Q(email__icontains=search)
        )
    if status:
        clients = clients.filter(status=status)
    return clients
