"""Reads of reconciliation shared by the ops pages and the API."""

from django.db.models import Count, F, Q

from payments.models import StatementEntry, StatementImport

Status = StatementEntry.Status


def statement_list():
    """Imports, newest first, with how many entries each has and how they ended."""
    # Meta.ordering does not apply to an aggregated queryset: order it here.
    return (
        StatementImport.objects.select_related("method", "imported_by")
        .annotate(
            entry_count=Count("entries"),
            settled_count=Count("entries", filter=Q(entries__status__in=[Status.MATCHED, Status.AUTO_CONFIRMED])),
            exception_count=Count("entries", filter=Q(entries__status=Status.EXCEPTION)),
            closed_count=Count("entries", filter=Q(entries__status__in=[Status.RESOLVED, Status.IGNORED])),
        )
        .order_by("-imported_at", "-id")
    )


def entry_list(*, status: str = ""):
    entries = StatementEntry.objects.select_related(
        "statement",
        "statement__method",
        "deposit",
        "deposit__client",
        "withdrawal",
        "withdrawal__client",
        "resolved_by",
    )
    return entries.filter(status=status) if status else entries


def exception_queue():
    """Entries that need a person, oldest first."""
    return entry_list(status=Status.EXCEPTION).order_by(
        F("booking_date").asc(nulls_last=True), "statement_id", "line_no"
    )
