"""The kernel's figures on the ops dashboard."""

from brokerage.dashboard import Card, Figure, Reading, register_card
from brokerage.selectors import staff_list


def failed_jobs() -> Reading:
    from django.urls import reverse

    from brokerage.jobs import failed_counts

    counts = failed_counts()
    url = reverse("ops:jobs")
    total = counts["tasks"] + counts["events"]
    return Reading(
        value=total,
        figures=[
            Figure("Tasks failed", counts["tasks"], f"{url}#tasks"),
            Figure("Events not delivered", counts["events"], f"{url}#events"),
        ],
        tone="alert" if total else "",
    )


register_card(
    Card(
        "Active staff",
        "staff_manage",
        lambda: staff_list().filter(is_active=True).count(),
        "ops:staff_list",
        90,
        group="Overview",
    )
)
register_card(
    Card(
        "Failed jobs",
        "staff_manage",
        lambda: failed_jobs().value,
        "ops:jobs",
        72,
        reading=failed_jobs,
        group="Needs attention",
        help="Background tasks that failed and events whose delivery gave up; not yet handled.",
    )
)
