"""/api/v1/ for the CRM: clients, their timeline and notes, leads, tasks, segments.

Who may do what (capabilities of brokerage.roles):
- clients/, leads/, segments/, tasks/ (reads): crm_view_client; creates and changes: crm_change_client.
- Every client is read through crm.visibility: a sales agent's token lists and reaches only their
  clients (or their desk's); anyone else's id answers 404, like an id that does not exist.
- tasks/: your own tasks (assigned to you or made by you); with crm_manage, anyone's.
- segments/: anyone with crm_change_client saves new ones; changing another person's needs crm_manage.
  A segment's clients/ are its members that the caller may see.
Creates (POST clients/, leads/, clients/{id}/notes/, tasks/, segments/) take an `Idempotency-Key`.
Errors have the one shape of brokerage.errors.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from brokerage.errors import ApplicationError
from brokerage.idempotency import HEADER, idempotent
from brokerage.permissions import HasCapability
from crm import api_serializers as io
from crm.comms import active_staff, note_add, task_complete, task_create, tasks_visible_to
from crm.leads import LEAD_FIELDS, lead_create, lead_stage_set
from crm.models import Client, Note, Segment, Task
from crm.profile import client_update
from crm.segments import segment_can_change, segment_clients, segment_problem, segment_save
from crm.selectors import client_list, client_timeline
from crm.visibility import can_change, client_visible_or_404, clients_visible_to

IDEMPOTENCY = OpenApiParameter(HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)
CanView, CanChange = HasCapability("crm_view_client"), HasCapability("crm_change_client")


def _query(serializer_class, request) -> dict:
    """Query parameters parsed by `serializer_class`; a 400 in the API's error shape when they are wrong."""
    data = serializer_class(data=request.query_params)
    data.is_valid(raise_exception=True)
    return data.validated_data


def _body(serializer_class, request) -> dict:
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


def _ensure_change(user, client: Client) -> None:
    if not can_change(user, client):
        raise PermissionDenied


class NewestFirst(CursorPagination):
    """Lists over up to 100,000 clients page by cursor: no COUNT(*) per page, no deep OFFSET."""

    ordering = ("-created_at", "-id")
    page_size = 50


class _CrmViewSet(viewsets.GenericViewSet):
    """Reads need crm_view_client, everything else crm_change_client (per action, see `change_actions`)."""

    filter_backends: list = []  # each list parses its own filters (serializers in crm.api_serializers)
    change_actions: frozenset[str] = frozenset({"create", "partial_update", "update"})

    def get_permissions(self):
        return [CanChange() if self.action in self.change_actions else CanView()]

    @property
    def is_schema(self) -> bool:
        return getattr(self, "swagger_fake_view", False)


# Clients ------------------------------------------------------------------------------------------


def _timeline_cursor_encode(position: tuple[datetime, int]) -> str:
    at, pk = position
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{pk}".encode()).decode().rstrip("=")


def _timeline_cursor_decode(text: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        at, pk = raw.split("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment, int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApplicationError("The cursor is not valid.", fields={"cursor": ["Use next_cursor as given."]}) from None


class ClientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _CrmViewSet):
    serializer_class = io.ClientOutput
    pagination_class = NewestFirst
    change_actions = frozenset({"create", "partial_update"})

    def get_permissions(self):
        if self.action == "notes" and self.request.method == "POST":
            return [CanChange()]
        return super().get_permissions()

    def get_queryset(self):
        if self.is_schema:
            return Client.objects.none()
        if self.action != "list":
            return clients_visible_to(self.request.user)
        filters = _query(io.ClientFilterInput, self.request)
        search = filters.pop("q", "") or filters.pop("search", "")
        filters.pop("search", None)
        return client_list(user=self.request.user, search=search, **filters)

    def get_object(self) -> Client:
        return client_visible_or_404(self.request.user, self.kwargs["pk"])

    @extend_schema(
        parameters=[io.ClientFilterInput], description="Clients you may see, newest first, filtered like the ops list."
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=io.ClientCreateInput,
        responses={201: io.ClientOutput},
        parameters=[IDEMPOTENCY],
        description="A new client record; it starts as a lead (status lead, stage new), checked for duplicates.",
    )
    @idempotent
    def create(self, request):
        values = _body(io.ClientCreateInput, request)
        lead_values = {name: values[name] for name in LEAD_FIELDS if name in values}
        profile_values = {name: value for name, value in values.items() if name not in LEAD_FIELDS}
        with transaction.atomic():
            client = lead_create(actor=request.user, data=lead_values)
            if profile_values:
                client = client_update(actor=request.user, client=client, changes=profile_values)
        client = Client.objects.select_related("sales_agent", "retention_agent").get(pk=client.pk)
        return Response(io.ClientOutput(client).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=io.ClientUpdateInput, responses=io.ClientOutput)
    def partial_update(self, request, pk=None):
        client = self.get_object()
        _ensure_change(request.user, client)
        changes = _body(io.ClientUpdateInput, request)
        client = client_update(actor=request.user, client=client, changes=changes)
        client = Client.objects.select_related("sales_agent", "retention_agent").get(pk=client.pk)
        return Response(io.ClientOutput(client).data)

    @extend_schema(parameters=[io.TimelineFilterInput], responses=io.TimelinePageOutput)
    @action(detail=True, methods=["get"], pagination_class=None)
    def timeline(self, request, pk=None):
        """Everything that happened to the client, newest first; follow `next` for older events."""
        client = self.get_object()
        params = _query(io.TimelineFilterInput, request)
        before = _timeline_cursor_decode(params["cursor"]) if params.get("cursor") else None
        events, position = client_timeline(
            client,
            kinds=sorted(params.get("kind") or []),
            search=params.get("q", ""),
            before=before,
            size=params["size"],
        )
        next_cursor = _timeline_cursor_encode(position) if position else None
        next_url = None
        if next_cursor:
            query = request.query_params.copy()
            query["cursor"] = next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{urlencode(query, doseq=True)}")
        return Response(
            {
                "next": next_url,
                "next_cursor": next_cursor,
                "results": io.TimelineEventOutput(events, many=True).data,
            }
        )

    @extend_schema(methods=["GET"], responses=io.NoteOutput(many=True))
    @extend_schema(methods=["POST"], request=io.NoteInput, responses={201: io.NoteOutput}, parameters=[IDEMPOTENCY])
    @action(detail=True, methods=["get", "post"])
    def notes(self, request, pk=None):
        """The client's notes and logged calls, newest first; POST adds one (@mentions notify colleagues)."""
        client = self.get_object()
        if request.method == "POST":
            return self._note_create(request, client=client)
        notes = Note.objects.filter(client=client).select_related("author").order_by("-created_at", "-id")
        page = self.paginate_queryset(notes)
        return self.get_paginated_response(io.NoteOutput(page, many=True).data)

    @idempotent
    def _note_create(self, request, *, client: Client):
        values = _body(io.NoteInput, request)
        note = note_add(actor=request.user, client=client, **values)
        return Response(io.NoteOutput(note).data, status=status.HTTP_201_CREATED)


# Leads --------------------------------------------------------------------------------------------


class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _CrmViewSet):
    serializer_class = io.ClientOutput
    pagination_class = NewestFirst
    change_actions = frozenset({"create", "stage"})

    def get_queryset(self):
        if self.is_schema:
            return Client.objects.none()
        leads = Client.objects.filter(status=Client.Status.LEAD)
        if self.action != "list":
            return clients_visible_to(self.request.user, leads)
        filters = _query(io.LeadFilterInput, self.request)
        search = filters.pop("q", "")
        return client_list(user=self.request.user, queryset=leads, search=search, **filters)

    @extend_schema(parameters=[io.LeadFilterInput], description="Leads (status lead) you may see, newest first.")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=io.LeadFieldsInput, responses={201: io.ClientOutput}, parameters=[IDEMPOTENCY])
    @idempotent
    def create(self, request):
        client = lead_create(actor=request.user, data=_body(io.LeadFieldsInput, request))
        client = Client.objects.select_related("sales_agent", "retention_agent").get(pk=client.pk)
        return Response(io.ClientOutput(client).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=io.LeadStageInput, responses=io.ClientOutput)
    @action(detail=True, methods=["post"])
    def stage(self, request, pk=None):
        """Move the lead along the pipeline (lost needs a reason)."""
        lead = self.get_object()
        values = _body(io.LeadStageInput, request)
        lead = lead_stage_set(actor=request.user, client=lead, stage=values["stage"], reason=values.get("reason", ""))
        lead = Client.objects.select_related("sales_agent", "retention_agent").get(pk=lead.pk)
        return Response(io.ClientOutput(lead).data)


# Tasks --------------------------------------------------------------------------------------------


class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _CrmViewSet):
    serializer_class = io.TaskOutput
    change_actions = frozenset({"create", "complete"})

    def get_queryset(self):
        if self.is_schema:
            return Task.objects.none()
        tasks = tasks_visible_to(self.request.user)
        if self.action != "list":
            return tasks
        filters = _query(io.TaskFilterInput, self.request)
        if "status" in filters:
            tasks = tasks.filter(status=filters["status"])
        if "assignee" in filters:
            tasks = tasks.filter(assignee_id=filters["assignee"])
        if "client" in filters:
            tasks = tasks.filter(client_id=filters["client"])
        return tasks.order_by("due_at", "id")

    @extend_schema(
        parameters=[io.TaskFilterInput],
        description="Your tasks (assigned to you or made by you), by due time; with crm_manage, everyone's.",
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=io.TaskInput, responses={201: io.TaskOutput}, parameters=[IDEMPOTENCY])
    @idempotent
    def create(self, request):
        values = _body(io.TaskInput, request)
        assignee = request.user
        if "assignee" in values:
            # Only among active staff: any other id answers alike, so ids reveal no one's name.
            assignee = active_staff().filter(pk=values["assignee"]).first()
            if assignee is None:
                raise ApplicationError("No such colleague.", fields={"assignee": ["No such colleague."]})
        client = None
        if values.get("client") is not None:
            client = clients_visible_to(request.user).filter(pk=values["client"]).first()
            if client is None:
                raise ApplicationError("No such client.", fields={"client": ["No such client."]})
        task = task_create(
            actor=request.user,
            title=values["title"],
            due_at=values["due_at"],
            assignee=assignee,
            client=client,
            description=values.get("description", ""),
        )
        return Response(io.TaskOutput(task).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=io.TaskOutput)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        task = self.get_object()
        task = task_complete(actor=request.user, task=task)
        return Response(io.TaskOutput(Task.objects.select_related("assignee").get(pk=task.pk)).data)


# Segments -----------------------------------------------------------------------------------------


class SegmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _CrmViewSet):
    serializer_class = io.SegmentOutput
    queryset = Segment.objects.select_related("created_by").order_by("name")

    @extend_schema(request=io.SegmentInput, responses={201: io.SegmentOutput}, parameters=[IDEMPOTENCY])
    @idempotent
    def create(self, request):
        if not segment_can_change(request.user):
            raise PermissionDenied
        values = _body(io.SegmentInput, request)
        segment = segment_save(actor=request.user, **values)
        return Response(io.SegmentOutput(segment).data, status=status.HTTP_201_CREATED)

    def _save(self, request, *, partial: bool) -> Response:
        segment = self.get_object()
        if not segment_can_change(request.user, segment):
            raise PermissionDenied
        data = io.SegmentInput(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        values = {"name": segment.name, "description": segment.description, "criteria": segment.criteria}
        values.update(data.validated_data)
        segment = segment_save(actor=request.user, segment=segment, **values)
        return Response(io.SegmentOutput(segment).data)

    @extend_schema(request=io.SegmentInput, responses=io.SegmentOutput)
    def update(self, request, pk=None):
        return self._save(request, partial=False)

    @extend_schema(request=io.SegmentInput, responses=io.SegmentOutput)
    def partial_update(self, request, pk=None):
        return self._save(request, partial=True)

    @extend_schema(responses=io.ClientOutput(many=True))
    @action(detail=True, methods=["get"], pagination_class=NewestFirst)
    def clients(self, request, pk=None):
        """The segment's members that you may see, newest first."""
        segment = self.get_object()
        problem = segment_problem(segment, request.user)
        if problem:
            raise ApplicationError(problem)
        members = segment_clients(segment, request.user).select_related("sales_agent", "retention_agent")
        page = self.paginate_queryset(members.order_by("-created_at", "-id"))
        return self.get_paginated_response(io.ClientOutput(page, many=True).data)
