from django.urls import path

from crm.views import portal as views

urlpatterns = [
    path("", views.portal_home, name="home"),
    path("profile/", views.profile, name="profile"),
    path("profile/contact/", views.profile_contact, name="profile_contact"),
    path("profile/phone/", views.profile_phone, name="profile_phone"),
    path("profile/phone/confirm/", views.profile_phone_confirm, name="profile_phone_confirm"),
    path("profile/phone/resend/", views.profile_phone_resend, name="profile_phone_resend"),
    path("profile/phone/cancel/", views.profile_phone_cancel, name="profile_phone_cancel"),
    path("profile/email/", views.profile_email, name="profile_email"),
    path("profile/email/resend/", views.profile_email_resend, name="profile_email_resend"),
    path("profile/email/cancel/", views.profile_email_cancel, name="profile_email_cancel"),
    path("profile/email/use/", views.profile_email_use, name="profile_email_use"),
]
