from django.shortcuts import render

from brokerage.permissions import capability_required


@capability_required("partner_portal_access")
def portal_home(request):
    return render(request, "partners/home.html")
