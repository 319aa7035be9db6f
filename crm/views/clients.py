from django.core.paginator import Paginator
from django.shortcuts import render

from brokerage.permissions import capability_required
from crm import selectors
from crm.models import Client


@capability_required("crm_view_client")
def client_list(request):
    search = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    page = Paginator(selectors.client_list(search=search, status=status), 25).get_page(request.GET.get("page"))
    context = {"page": page, "search": search, "status": status, "statuses": Client.Status.choices}
    template = "crm/_client_rows.html" if request.htmx else "crm/client_list.html"
    return render(request, template, context)
