from django.db.models import QuerySet

from brokerage.models import User
from brokerage.roles import STAFF_ROLES


def staff_list() -> QuerySet[User]:
    """Everyone holding a staff role in the current schema, active or not."""
    return User.objects.filter(groups__name__in=STAFF_ROLES).distinct().prefetch_related("groups").order_by("email")
