from crm.models.clients import Client
from crm.models.comms import Email, EmailTemplate, Note, Notification, Task
from crm.models.imports import LeadImport, LeadImportRow
from crm.models.sales import AssignmentRule, AssignmentRuleMember, Desk
from crm.models.segments import Segment
from crm.models.timeline import TimelineEvent

__all__ = [
    "AssignmentRule",
    "AssignmentRuleMember",
    "Client",
    "Desk",
    "Email",
    "EmailTemplate",
    "LeadImport",
    "LeadImportRow",
    "Note",
    "Notification",
    "Segment",
    "Task",
    "TimelineEvent",
]
