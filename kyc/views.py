from django.core.paginator import Paginator
from django.shortcuts import render

from brokerage.permissions import capability_required
from crm.models import Client


@capability_required("kyc_review")
def kyc_home(request):
    """Registered clients who have not been verified yet: the start of the review queue."""
    waiting = Client.objects.filter(status=Client.Status.REGISTERED).order_by("created_at", "id")
    page = Paginator(waiting, 25).get_page(request.GET.get("page"))
    return render(request, "kyc/home.html", {"page": page})
