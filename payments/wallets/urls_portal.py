from django.urls import path

from payments.wallets import views

urlpatterns = [
    path("", views.portal_funds, name="funds"),
    path("statement.csv", views.portal_statement_csv, name="statement_csv"),
    path("convert/", views.portal_convert, name="convert"),
    path("convert/quote/", views.portal_convert_quote, name="convert_quote"),
]
