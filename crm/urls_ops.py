from django.urls import include, path

urlpatterns = [
    path("", include("crm.urls.clients")),
    path("", include("crm.urls.comms")),
    path("", include("crm.urls.leads")),
    path("", include("crm.urls.sales")),
    path("", include("crm.urls.segments")),
]
