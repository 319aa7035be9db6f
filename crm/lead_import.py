"""Lead files: upload and read (any usual encoding and separator), map columns, import in chunks.

Upload stores every row of the file as a `LeadImportRow` in one transaction. The import then takes
the pending rows 500 at a time; each chunk is one transaction holding its rows' outcomes, the
clients it created and the import's counters, so a crash leaves whole chunks done and the rest
pending, and running the import again carries on from the pending rows. A row is locked while it
is worked and its outcome is written with its client: one row never makes two clients.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import F, Max, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django_tenants.utils import schema_context

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from brokerage.roles import perm
from crm.assignment import agents_all, rules_matching, turn_after
from crm.comms import notify
from crm.duplicates import client_dedupe_lock
from crm.leads import HELD_ELSEWHERE, lead_values_clean, source_parse
from crm.links import client_list_url, person_label
from crm.models import AssignmentRule, AssignmentRuleMember, Client, LeadImport, LeadImportRow, TimelineEvent
from crm.profile import tags_clean
from crm.visibility import clients_visible_to

logger = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
MAX_COLUMNS = 100
CHUNK_SIZE = 500
PREVIEW_ROWS = 20
EXTENSIONS = (".csv", ".txt")
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16 with BOM",
    "cp1252": "Windows-1252 (Western European)",
    "latin-1": "Latin-1 (ISO-8859-1)",
}
DELIMITER_LABELS = {",": "commas", ";": "semicolons", "\t": "tabs"}

# Client field -> (label, header names that mean it, compared lower-case without spaces or punctuation)
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "name": ("Full name", ("name", "fullname", "contactname", "clientname", "leadname", "contact")),
    "first_name": ("First name", ("firstname", "first", "givenname", "forename", "vorname", "prenom", "nombre")),
    "last_name": ("Last name", ("lastname", "last", "surname", "familyname", "nachname", "nom", "apellido")),
    "company_name": ("Company", ("company", "companyname", "organisation", "organization", "firma")),
    "email": ("Email", ("email", "emailaddress", "mail", "emailadresse", "correo")),
    "phone": (
        "Phone",
        ("phone", "phonenumber", "mobile", "mobilephone", "mobilenumber", "tel", "telephone", "cell", "msisdn"),
    ),
    "country": ("Country", ("country", "countrycode", "countryofresidence", "land", "pais")),
    "language": ("Language", ("language", "lang", "locale", "sprache")),
    "tags": ("Tags", ("tags", "tag", "labels")),
    "source": ("Source", ("source", "leadsource", "channel")),
    "source_detail": ("Campaign", ("campaign", "campaignname", "sourcedetail", "utmcampaign")),
}
NAME_FIELDS = ("name", "first_name", "last_name", "company_name")


# Reading the file ---------------------------------------------------------------------------------

_BINARY_SIGNATURES = (
    (b"PK\x03\x04", "This is an Excel workbook or a ZIP archive, not a CSV file: save it as CSV first."),
    (b"\xd0\xcf\x11\xe0", "This is an old Excel (.xls) or Word file, not a CSV file: save it as CSV first."),
    (b"%PDF", "This is a PDF document, not a CSV file."),
    (b"\x89PNG", "This is a PNG image, not a CSV file."),
    (b"\xff\xd8\xff", "This is a JPEG image, not a CSV file."),
    (b"GIF8", "This is a GIF image, not a CSV file."),
)
NOT_TEXT = "This file is not text: upload a CSV file (comma, semicolon or tab separated)."


def text_decode(data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read with (a key of ENCODING_LABELS).

    A byte-order mark decides; without one, UTF-8 if the bytes are valid UTF-8, else Windows-1252
    (what Excel writes in Western Europe), else Latin-1, which reads any byte.
    """
    for signature, message in _BINARY_SIGNATURES:
        if data.startswith(signature):
            raise ApplicationError(message, fields={"file": [message]})
    if data.startswith(b"\xef\xbb\xbf"):
        text, encoding = data.decode("utf-8-sig", errors="strict"), "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text, encoding = data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise ApplicationError(NOT_TEXT, fields={"file": ["It starts like UTF-16 but is not."]}) from None
    elif b"\x00" in data:
        raise ApplicationError(NOT_TEXT, fields={"file": [NOT_TEXT]})
    else:
        for encoding in ("utf-8", "cp1252", "latin-1"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    controls = sum(1 for char in text[:100_000] if ord(char) < 32 and char not in "\t\r\n")
    if "\x00" in text or controls > max(3, len(text[:100_000]) // 200):
        raise ApplicationError(NOT_TEXT, fields={"file": [NOT_TEXT]})
    return text, encoding


def delimiter_detect(text: str) -> str:
    """Comma, semicolon or tab, by csv.Sniffer on the first lines; by counting in the header if it cannot tell."""
    sample = "\n".join(text[:65536].splitlines()[:50])
    header = next((line for line in sample.splitlines() if line.strip()), "")
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ""
    if delimiter and header.count(delimiter):
        return delimiter
    counts = {candidate: header.count(candidate) for candidate in DELIMITER_LABELS}
    best = max(counts, key=lambda candidate: counts[candidate])
    return best if counts[best] else ","


@dataclass
class ParsedFile:
    encoding: str
    delimiter: str
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line number, values)


def header_clean(names: list[str]) -> list[str]:
    """Column names as shown and stored in the mapping: trimmed, blanks named, repeats numbered."""
    header: list[str] = []
    for number, name in enumerate(names, start=1):
        name = name.strip() or f"Column {number}"
        unique, count = name, 2
        while unique in header:
            unique, count = f"{name} ({count})", count + 1
        header.append(unique[:100])
    return header


def csv_parse(data: bytes) -> ParsedFile:
    text, encoding = text_decode(data)
    delimiter = delimiter_detect(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    last_line = 0
    try:
        for values in reader:
            line, last_line = last_line + 1, reader.line_num
            if not any(value.strip() for value in values):
                continue
            if header is None:
                header = header_clean(values)
                if len(header) > MAX_COLUMNS:
                    raise ApplicationError(
                        f"The file has {len(header)} columns; at most {MAX_COLUMNS} can be read.",
                        fields={"file": ["Too many columns."]},
                    )
                continue
            rows.append((line, [value[:500] for value in values[: len(header)]]))
    except csv.Error as error:
        message = f"The file cannot be read as CSV near line {reader.line_num}: {error}."
        raise ApplicationError(message, fields={"file": [message]}) from None
    if header is None:
        raise ApplicationError("The file is empty.", fields={"file": ["The file is empty."]})
    if not rows:
        message = "The file has a header line but no rows under it."
        raise ApplicationError(message, fields={"file": [message]})
    return ParsedFile(encoding, delimiter, header, rows)


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def mapping_guess(header: list[str]) -> dict[str, str]:
    """Client field -> column, from header names such as "E-mail", "First Name", "Mobile"."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for field, (_label, names) in FIELDS.items():
        for column in header:
            if column not in taken and _key(column) in names:
                mapping[field] = column
                taken.add(column)
                break
    if "name" in mapping and ("first_name" in mapping or "last_name" in mapping):
        del mapping["name"]  # separate name columns are better than splitting a full name
    return mapping


def _check_manage(actor) -> None:
    if not actor.has_perm(perm("crm_manage")):
        raise PermissionDenied


@transaction.atomic
def lead_import_upload(*, actor, filename: str, data: bytes) -> tuple[LeadImport, str]:
    """Read an uploaded file and keep every row, waiting for its column mapping.

    Returns the import and a sentence saying how the file was read (encoding, separator).
    """
    _check_manage(actor)
    filename = (filename or "leads.csv").replace("\\", "/").rsplit("/", 1)[-1][:200]
    if not filename.lower().endswith(EXTENSIONS):
        message = "Upload a .csv or .txt file."
        raise ApplicationError(message, fields={"file": [message]})
    if len(data) > MAX_BYTES:
        message = f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB."
        raise ApplicationError(message, fields={"file": [message]})
    parsed = csv_parse(data)
    lead_import = LeadImport.objects.create(
        filename=filename,
        encoding=parsed.encoding,
        header=parsed.header,
        mapping=mapping_guess(parsed.header),
        total_rows=len(parsed.rows),
        created_by=actor,
    )
    LeadImportRow.objects.bulk_create(
        (LeadImportRow(lead_import=lead_import, line=line, values=values) for line, values in parsed.rows),
        batch_size=2000,
    )
    audit_log(
        actor=actor,
        action="crm.lead_import.uploaded",
        obj=lead_import,
        after={"filename": filename, "rows": len(parsed.rows), "encoding": parsed.encoding},
    )
    rows = f"{len(parsed.rows)} row{'s' if len(parsed.rows) != 1 else ''}"
    summary = (
        f"Read {rows} of {filename}: encoding {ENCODING_LABELS[parsed.encoding]}, "
        f"separated by {DELIMITER_LABELS[parsed.delimiter]}."
    )
    return lead_import, summary


def lead_import_preview(lead_import: LeadImport) -> list[LeadImportRow]:
    return list(lead_import.rows.order_by("line")[:PREVIEW_ROWS])


# Mapping and running -------------------------------------------------------------------------------


def mapping_clean(lead_import: LeadImport, mapping: dict[str, str]) -> dict[str, str]:
    chosen = {field: column for field, column in mapping.items() if column}
    problems: dict[str, list[str]] = {}
    for field, column in chosen.items():
        if field not in FIELDS:
            problems.setdefault("__all__", []).append(f"Unknown field {field}.")
        elif column not in lead_import.header:
            problems.setdefault(field, []).append(f"The file has no column “{column}”.")
    columns = list(chosen.values())
    for field, column in chosen.items():
        if columns.count(column) > 1:
            problems.setdefault(field, []).append(f"The column “{column}” is chosen for more than one field.")
    if not any(field in chosen for field in NAME_FIELDS):
        problems.setdefault("name", []).append("Choose the column with the name (full, first or last name).")
    if "email" not in chosen and "phone" not in chosen:
        problems.setdefault("email", []).append("Choose the email column, the phone column or both.")
    if problems:
        raise ApplicationError("The column mapping is not complete.", fields=problems)
    return chosen


def _run_after_commit(lead_import_id: int) -> None:
    schema = connection.schema_name

    def send() -> None:
        from crm.import_tasks import lead_import_task

        with schema_context(schema):
            try:
                lead_import_task.delay(lead_import_id)
            except Exception:  # broker down: the import stays queued and "Run again" sends it later
                logger.warning("lead import %s not sent to the worker", lead_import_id, exc_info=True)

    transaction.on_commit(send)


@transaction.atomic
def lead_import_start(
    *, actor, lead_import: LeadImport, mapping: dict[str, str], tags=(), source: str = "", source_detail: str = ""
) -> LeadImport:
    """Save the column mapping and the values for every row, and queue the import."""
    _check_manage(actor)
    locked = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
    if locked.status != LeadImport.Status.MAPPING:
        raise ApplicationError("This import has already been started.")
    chosen = mapping_clean(locked, mapping)
    common_source = source_parse(source)
    if common_source is None:
        raise ApplicationError("Unknown source.", fields={"source": ["Choose a source from the list."]})
    tags = tags_clean(tags)
    locked.mapping = chosen
    locked.tags = tags
    locked.source = common_source or Client.Source.IMPORT
    locked.source_detail = (source_detail or "").strip()[:100]
    locked.status = LeadImport.Status.QUEUED
    locked.save(update_fields=["mapping", "tags", "source", "source_detail", "status"])
    audit_log(
        actor=actor,
        action="crm.lead_import.started",
        obj=locked,
        after={"mapping": chosen, "tags": tags, "source": locked.source, "source_detail": locked.source_detail},
    )
    _run_after_commit(locked.pk)
    return locked


@transaction.atomic
def lead_import_resume(*, actor, lead_import: LeadImport) -> LeadImport:
    """Queue a failed (or stuck) import again: it carries on from its pending rows."""
    _check_manage(actor)
    locked = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
    if locked.status not in (LeadImport.Status.FAILED, LeadImport.Status.QUEUED, LeadImport.Status.RUNNING):
        raise ApplicationError("Only an import that stopped can be run again.")
    locked.status, locked.error = LeadImport.Status.QUEUED, ""
    locked.save(update_fields=["status", "error"])
    audit_log(actor=actor, action="crm.lead_import.resumed", obj=locked, after={"pending": pending_count(locked)})
    _run_after_commit(locked.pk)
    return locked


def pending_count(lead_import: LeadImport) -> int:
    done = lead_import.imported + lead_import.duplicates + lead_import.rejected
    return max(lead_import.total_rows - done, 0)


def lead_import_run(lead_import_id: int) -> LeadImport | None:
    """Import every pending row, chunk by chunk; the Celery task's body. Safe to run twice at once."""
    claimed = LeadImport.objects.filter(
        pk=lead_import_id, status__in=[LeadImport.Status.QUEUED, LeadImport.Status.RUNNING]
    ).update(status=LeadImport.Status.RUNNING)
    if not claimed:
        return LeadImport.objects.filter(pk=lead_import_id).first()
    lead_import = LeadImport.objects.select_related("created_by").get(pk=lead_import_id)
    try:
        while _chunk_import(lead_import):
            pass
    except Exception as error:
        logger.exception("lead import %s stopped", lead_import_id)
        message = f"Stopped at {timezone.now():%Y-%m-%d %H:%M} UTC: {type(error).__name__}: {error}"
        LeadImport.objects.filter(pk=lead_import_id).update(status=LeadImport.Status.FAILED, error=message[:300])
        lead_import.refresh_from_db()
        return lead_import
    _finish(lead_import)
    lead_import.refresh_from_db()
    return lead_import


@transaction.atomic
def _finish(lead_import: LeadImport) -> None:
    if LeadImportRow.objects.filter(lead_import=lead_import, outcome=LeadImportRow.Outcome.PENDING).exists():
        return  # another run holds the last chunk; it finishes the import
    finished = LeadImport.objects.filter(pk=lead_import.pk, status=LeadImport.Status.RUNNING).update(
        status=LeadImport.Status.DONE, finished_at=timezone.now()
    )
    if finished:
        lead_import.refresh_from_db()
        audit_log(
            actor=None,
            action="crm.lead_import.finished",
            obj=lead_import,
            after={
                "imported": lead_import.imported,
                "duplicates": lead_import.duplicates,
                "rejected": lead_import.rejected,
            },
        )


def _row_data(lead_import: LeadImport, values: list[str]) -> dict[str, str]:
    columns = {name: index for index, name in enumerate(lead_import.header)}
    data: dict[str, str] = {}
    for field, column in lead_import.mapping.items():
        index = columns.get(column)
        data[field] = values[index].strip() if index is not None and index < len(values) else ""
    return data


def _lead_from_row(lead_import: LeadImport, values: list[str]) -> tuple[dict | None, list[str]]:
    """The new client's fields for one row, or None and the row's problems."""
    data = _row_data(lead_import, values)
    source = data.get("source", "")
    if source and source_parse(source) is None:
        # "Facebook" is not one of our sources: keep the import's source and the word as its detail.
        data["source_detail"] = data.get("source_detail") or source
        source = ""
    data["source"] = source or lead_import.source
    data["source_detail"] = data.get("source_detail") or lead_import.source_detail
    data["tags"] = [*lead_import.tags, *re.split(r"[,;|]", data.get("tags", ""))]
    values_, problems = lead_values_clean(data)
    if problems:
        return None, [message for messages in problems.values() for message in messages]
    return values_, []


@dataclass
class _Candidate:
    row: LeadImportRow
    values: dict


def _existing(candidates: Iterable[_Candidate]) -> tuple[dict[str, Client], dict[str, Client]]:
    emails = {c.values["email"].lower() for c in candidates if c.values["email"]}
    phones = {c.values["phone"] for c in candidates if c.values["phone"]}
    if not emails and not phones:
        return {}, {}
    clients = (
        Client.objects.alias(email_lower=Lower("email"))
        .filter(Q(email_lower__in=emails) | Q(phone__in=phones))
        .only("pk", "email", "phone", "first_name", "last_name", "company_name")
        .order_by("pk")
    )
    by_email: dict[str, Client] = {}
    by_phone: dict[str, Client] = {}
    for client in clients:
        if client.email:
            by_email.setdefault(client.email.lower(), client)
        if client.phone:
            by_phone.setdefault(client.phone, client)
    return by_email, by_phone


def _chunk_import(lead_import: LeadImport) -> bool:
    """Import the next pending rows in one transaction; False when none are left."""
    with transaction.atomic():
        rows = list(
            LeadImportRow.objects.select_for_update(skip_locked=True)
            .filter(lead_import=lead_import, outcome=LeadImportRow.Outcome.PENDING)
            .order_by("line")[:CHUNK_SIZE]
        )
        if not rows:
            return False
        client_dedupe_lock()
        candidates: list[_Candidate] = []
        for row in rows:
            values, problems = _lead_from_row(lead_import, row.values)
            if values is None:
                row.outcome, row.problems = LeadImportRow.Outcome.REJECTED, problems
            else:
                candidates.append(_Candidate(row, values))

        by_email, by_phone = _existing(candidates)
        matched = {client.pk for client in (*by_email.values(), *by_phone.values())}
        # Clients this very file created (earlier chunks): name the line, not the client number.
        earlier_lines = dict(
            LeadImportRow.objects.filter(lead_import=lead_import, client_id__in=matched).values_list(
                "client_id", "line"
            )
        )
        visible = set(
            clients_visible_to(lead_import.created_by, Client.objects.filter(pk__in=matched)).values_list(
                "pk", flat=True
            )
        )
        seen_email: dict[str, int] = {}
        seen_phone: dict[str, int] = {}
        creating: list[_Candidate] = []
        for candidate in candidates:
            email, phone = candidate.values["email"].lower(), candidate.values["phone"]
            problems = []
            for field, key, seen, existing in (
                ("email", email, seen_email, by_email),
                ("phone", phone, seen_phone, by_phone),
            ):
                if not key:
                    continue
                if key in seen:
                    problems.append(f"The same {field} as line {seen[key]} of this file.")
                elif key in existing:
                    client = existing[key]
                    if client.pk in earlier_lines:
                        problems.append(f"The same {field} as line {earlier_lines[client.pk]} of this file.")
                    elif client.pk in visible:
                        problems.append(f"The same {field} as client #{client.pk} ({client}).")
                    elif HELD_ELSEWHERE not in problems:
                        problems.append(HELD_ELSEWHERE)
            if problems:
                candidate.row.outcome, candidate.row.problems = LeadImportRow.Outcome.DUPLICATE, problems
                continue
            if email:
                seen_email[email] = candidate.row.line
            if phone:
                seen_phone[phone] = candidate.row.line
            creating.append(candidate)

        now = timezone.now()
        clients = Client.objects.bulk_create(
            [
                Client(
                    status=Client.Status.LEAD,
                    lead_stage=Client.LeadStage.NEW,
                    last_activity_at=now,
                    **candidate.values,
                )
                for candidate in creating
            ]
        )
        actor_email = (lead_import.created_by.email or "")[:254]
        TimelineEvent.objects.bulk_create(
            [
                TimelineEvent(
                    client_id=client.pk,
                    occurred_at=now,
                    kind=TimelineEvent.Kind.PROFILE,
                    topic="crm.lead.imported",
                    title=f"Imported from {lead_import.filename} line {candidate.row.line}"[:200],
                    detail=f"Lead import #{lead_import.pk}",
                    actor_label=actor_email,
                    source=f"lead_import:{lead_import.pk}:{candidate.row.line}",
                )
                for candidate, client in zip(creating, clients, strict=True)
            ]
        )
        for candidate, client in zip(creating, clients, strict=True):
            candidate.row.outcome, candidate.row.client = LeadImportRow.Outcome.IMPORTED, client
        _chunk_assign(lead_import, clients, lines=[candidate.row.line for candidate in creating])
        LeadImportRow.objects.bulk_update(rows, ["outcome", "problems", "client"])
        outcomes = [row.outcome for row in rows]
        LeadImport.objects.filter(pk=lead_import.pk).update(
            imported=F("imported") + outcomes.count(LeadImportRow.Outcome.IMPORTED),
            duplicates=F("duplicates") + outcomes.count(LeadImportRow.Outcome.DUPLICATE),
            rejected=F("rejected") + outcomes.count(LeadImportRow.Outcome.REJECTED),
        )
    return True


def _chunk_assign(lead_import: LeadImport, clients: list[Client], *, lines: list[int]) -> None:
    """Give a chunk's new leads their sales agents by the rules, as crm.assignment.client_auto_assign
    would one by one (first matching rule with an active agent, oldest turn first), but with the rule
    and member rows locked once for the chunk, one timeline line per lead, one audit record for the
    chunk and one notification per agent."""
    if not clients:
        return
    # The rules each kind of client (country, language, source) matches: a few queries per chunk.
    matching: dict[tuple[str, str, str], list[AssignmentRule]] = {}
    for key in {(client.country, client.language, client.source) for client in clients}:
        country, language, source = key
        matching[key] = list(
            rules_matching(team=AssignmentRule.Team.SALES, country=country, language=language, source=source)
        )
    candidates = {client.pk: matching[(client.country, client.language, client.source)] for client in clients}
    used = {rule.pk for matching in candidates.values() for rule in matching}
    if not used:
        return
    # The same lock order as client_auto_assign (priority, id), so the two queue up instead of deadlocking.
    list(AssignmentRule.objects.select_for_update().filter(pk__in=used).order_by("priority", "id").values("pk"))
    members = list(
        AssignmentRuleMember.objects.select_for_update(of=("self",))
        .filter(rule_id__in=used, user__in=agents_all())
        .select_related("user")
        .order_by(F("last_assigned_at").asc(nulls_first=True), "id")
    )
    queues: dict[int, list[AssignmentRuleMember]] = defaultdict(list)
    for member in members:
        queues[member.rule_id].append(member)
    latest = dict(
        AssignmentRuleMember.objects.filter(rule_id__in=used)
        .values("rule_id")
        .annotate(latest=Max("last_assigned_at"))
        .values_list("rule_id", "latest")
    )
    now = timezone.now()
    turn = {rule_id: turn_after(latest.get(rule_id)) for rule_id in used}
    assigned: dict[int, tuple[AssignmentRule, AssignmentRuleMember]] = {}
    for client in clients:
        for rule in candidates[client.pk]:
            queue = queues.get(rule.pk)
            if not queue:
                continue
            member = queue.pop(0)
            member.last_assigned_at = turn[rule.pk]
            turn[rule.pk] += timedelta(microseconds=1)
            queue.append(member)
            assigned[client.pk] = (rule, member)
            break
    if not assigned:
        return
    AssignmentRuleMember.objects.bulk_update({m.pk: m for _, m in assigned.values()}.values(), ["last_assigned_at"])
    by_agent: dict[int, list[int]] = defaultdict(list)
    for client_id, (_rule, member) in assigned.items():
        by_agent[member.user_id].append(client_id)
    agents = {member.user_id: member.user for _, member in assigned.values()}
    for agent_id, client_ids in by_agent.items():
        Client.objects.filter(pk__in=client_ids, sales_agent__isnull=True).update(
            sales_agent_id=agent_id, updated_at=now
        )
    TimelineEvent.objects.bulk_create(
        [
            TimelineEvent(
                client_id=client_id,
                occurred_at=now,
                kind=TimelineEvent.Kind.PROFILE,
                topic="crm.client.assigned",
                title=f"Assigned to {person_label(member.user)} by rule '{rule.name}'"[:200],
            )
            for client_id, (rule, member) in assigned.items()
        ]
    )
    for client in clients:
        if client.pk in assigned:
            client.sales_agent = assigned[client.pk][1].user
    audit_log(
        actor=None,
        action="crm.lead_import.assigned",
        obj=lead_import,
        after={
            "lines": [min(lines), max(lines)],
            "assigned": len(assigned),
            "unassigned": len(clients) - len(assigned),
            "by_agent": {agents[agent_id].email: len(ids) for agent_id, ids in by_agent.items()},
            "by_rule": dict(Counter(rule.name for rule, _ in assigned.values())),
        },
    )
    for agent_id, client_ids in by_agent.items():
        count = len(client_ids)
        notify(
            agents[agent_id],
            f"{count} new lead{'s' if count != 1 else ''} from {lead_import.filename} assigned to you",
            url=client_list_url(agent=agent_id, status=Client.Status.LEAD),
        )


def problem_rows(lead_import: LeadImport):
    return lead_import.rows.filter(
        outcome__in=[LeadImportRow.Outcome.REJECTED, LeadImportRow.Outcome.DUPLICATE]
    ).order_by("line")


def row_summary(lead_import: LeadImport, row: LeadImportRow) -> dict[str, str]:
    """The mapped values of a row as the file had them (name, email, phone), for the report."""
    data = _row_data(lead_import, row.values)
    name = data.get("name") or f"{data.get('first_name', '')} {data.get('last_name', '')}".strip()
    return {
        "name": name or data.get("company_name", ""),
        "email": data.get("email", ""),
        "phone": data.get("phone", ""),
    }
