"""Importing training completions in bulk from a CSV or XLSX file."""

import hashlib

import tablib
from django.contrib.auth import get_user_model
from django.db import transaction
from import_export.results import Result

from audit.services.ledger import Actor, append_event
from literacy.imports import TrainingCompletionResource
from literacy.models import TrainingCompletion
from oversight.exceptions import InvalidInput, NotAllowed
from oversight.services.authority import reconcile_authority

FORMATS = ("csv", "xlsx")


def read_dataset(content: bytes, file_format: str) -> tablib.Dataset:
    """The file as a tablib dataset; a file that cannot be read is refused with a message."""
    if file_format not in FORMATS:
        raise InvalidInput(f"Import a CSV or XLSX file, not {file_format!r}.")
    try:
        if file_format == "csv":
            return tablib.Dataset().load(content.decode("utf-8-sig"), format="csv")
        return tablib.Dataset().load(content, format="xlsx")
    except Exception as error:  # tablib raises whatever its parser raises
        message = f"The file could not be read as {file_format.upper()}: {error}"
        raise InvalidInput(message) from None


def import_completions(
    *,
    dataset: tablib.Dataset,
    imported_by,
    file_sha256: str,
    file_name: str = "",
    dry_run: bool = False,
) -> Result:
    """Import completions from a file's rows: all of them, or, if any row is invalid, none.

    Rules: the importer needs the add-completion permission; every row is checked as
    `record_completion` checks one (no future dates, score 0–100 deciding the pass, expiry
    derived from the version's validity) and must name a known person and module version and
    not repeat a completion in the file or on record. Rows are saved with history (history
    user and `recorded_by` = the importer); one "training.imported" audit event records the
    count and the file's SHA-256; the permissions of everyone affected follow at once. A dry
    run checks everything and writes nothing. The result lists each invalid row by number.
    """
    if not imported_by.has_perm("literacy.add_trainingcompletion"):
        raise NotAllowed("You may not import training completions.")
    resource = TrainingCompletionResource()
    with transaction.atomic():
        result = resource.import_data(
            dataset,
            dry_run=dry_run,
            raise_errors=False,
            use_transactions=True,
            rollback_on_validation_errors=True,
            user=imported_by,
            file_name=file_name,
        )
        if dry_run or result.has_errors() or result.has_validation_errors():
            return result
        append_event(
            actor=Actor.for_user(imported_by),
            action="training.imported",
            object_type=TrainingCompletion._meta.label_lower,
            payload={
                "count": resource.imported_count,
                "file_sha256": file_sha256,
                "file_name": file_name,
                "people": len(resource.imported_user_ids),
            },
        )
        # Renewed training can make lapsed grants effective again: queues follow now.
        reconcile_authority(
            users=get_user_model().objects.filter(pk__in=resource.imported_user_ids)
        )
    return result


def import_completions_file(
    *, content: bytes, file_format: str, imported_by, file_name: str = "", dry_run: bool = False
) -> Result:
    """`import_completions` from a file's bytes (CSV in UTF-8, or XLSX)."""
    if not imported_by.has_perm("literacy.add_trainingcompletion"):
        raise NotAllowed("You may not import training completions.")
    return import_completions(
        dataset=read_dataset(content, file_format),
        imported_by=imported_by,
        file_sha256=hashlib.sha256(content).hexdigest(),
        file_name=file_name,
        dry_run=dry_run,
    )
