"""Serving a stored KYC document: to the client it belongs to, or to staff with kyc_review who may
see that client; a 404 for everyone else, so document ids reveal nothing.

The file is user-supplied: it is sent inline with its checked type, never sniffed, in a CSP sandbox
(no script runs even if a viewer tried), and never cached.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from django.utils.text import get_valid_filename
from django.views.decorators.http import require_GET

from brokerage.audit import audit_log
from brokerage.roles import perm
from crm.visibility import client_visible_or_404
from kyc import storage
from kyc.models import Document
from kyc.uploads import ACCEPTED


def document_get_or_404(user, document_id: int) -> Document:
    """The document if `user` owns it or may review its client; Http404 otherwise."""
    document = Document.objects.select_related("client").filter(pk=document_id).first()
    if document is None:
        raise Http404("No such document")
    if document.client.user_id is not None and document.client.user_id == user.pk:
        return document
    if not user.has_perm(perm("kyc_review")):
        raise Http404("No such document")
    client_visible_or_404(user, document.client_id)
    return document


def safe_filename(document: Document) -> str:
    """The kind and id, with the extension of the checked type: no name the uploader chose reaches a header."""
    extension = ACCEPTED.get(document.content_type, ("", ("bin",)))[1][0]
    return get_valid_filename(f"{document.kind}-{document.side}-{document.pk}.{extension}")


@require_GET
def document_file(request: HttpRequest, document_id: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    document = document_get_or_404(request.user, document_id)
    try:
        data = storage.file_read(document.file)
    except FileNotFoundError:
        raise Http404("The file is missing") from None
    if document.client.user_id != request.user.pk:
        audit_log(actor=request.user, action="kyc.document.viewed", obj=document)
    response = HttpResponse(data, content_type=document.content_type)
    response["Content-Disposition"] = content_disposition_header(False, safe_filename(document))
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
