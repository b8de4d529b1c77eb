"""Reading training completions from a CSV or XLSX file with django-import-export.

The resource checks each row by the recording service's own rules (`check_completion`,
`derive_passed`, `add_months`) and by what a file can get wrong besides (unknown person or
module version, unreadable values, duplicates in the file or already on record), naming every
problem of a row. Rows are only ever added, never matched to existing ones, and are written in
batches with their history rows (`bulk_create_with_history`, history user = the importer).
Whether anything is written at all is decided by `literacy.services.imports`, which runs the
whole file in one transaction and rolls it back when any row is invalid.
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from import_export import fields, resources
from simple_history.utils import bulk_create_with_history

from literacy.expiry import add_months
from literacy.models import TrainingCompletion, TrainingModuleVersion
from literacy.services.completions import check_completion, derive_passed
from oversight.exceptions import DomainError

REQUIRED_COLUMNS = ("username", "module", "version", "completed_on")
OPTIONAL_COLUMNS = ("score", "passed")
PASSED_WORDS = {"yes": True, "true": True, "1": True, "passed": True}
FAILED_WORDS = {"no": False, "false": False, "0": False, "failed": False, "not passed": False}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


class TrainingCompletionResource(resources.ModelResource):
    """One completion per row: username, module (slug), version, completed_on, score, passed."""

    username = fields.Field(attribute="user__username", column_name="username", readonly=True)
    module = fields.Field(
        attribute="module_version__module__slug", column_name="module", readonly=True
    )
    version = fields.Field(
        attribute="module_version__version", column_name="version", readonly=True
    )
    completed_on = fields.Field(attribute="completed_on", column_name="completed_on", readonly=True)
    score = fields.Field(attribute="score", column_name="score", readonly=True)
    passed = fields.Field(attribute="passed", column_name="passed", readonly=True)
    expires_on = fields.Field(attribute="expires_on", column_name="expires_on", readonly=True)

    class Meta:
        model = TrainingCompletion
        fields = ("username", "module", "version", "completed_on", "score", "passed", "expires_on")
        import_id_fields = ()
        use_bulk = True
        batch_size = 1000
        # Evidence is added, never overwritten: an import never updates a row, so there is
        # nothing to skip or compare with.
        skip_unchanged = False
        report_skipped = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.imported_user_ids: set = set()
        self.imported_count = 0

    # Looking up everything the rows name, once -------------------------------------------------

    def before_import(self, dataset, **kwargs):
        headers = [_text(header).lower() for header in dataset.headers or []]
        missing = [column for column in REQUIRED_COLUMNS if column not in headers]
        if missing:
            raise ValidationError(
                "The file lacks the column(s) "
                + ", ".join(missing)
                + ". Expected: "
                + ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
                + "."
            )
        dataset.headers = headers
        self.importer = kwargs.get("user")
        usernames = {_text(name) for name in dataset["username"]}
        self.users = {
            user.get_username(): user
            for user in get_user_model().objects.filter(username__in=usernames)
        }
        slugs = {_text(slug) for slug in dataset["module"]}
        self.versions = {
            (version.module.slug, str(version.version)): version
            for version in TrainingModuleVersion.objects.filter(
                module__slug__in=slugs
            ).select_related("module")
        }
        self.on_record = set(
            TrainingCompletion.objects.filter(
                user__in=self.users.values(), module_version__in=self.versions.values()
            ).values_list("user_id", "module_version_id", "completed_on")
        )
        self.seen_in_file: dict = {}
        self.imported_user_ids = set()
        self.imported_count = 0

    def get_or_init_instance(self, instance_loader, row):
        # Imports only add completions: a row never updates an existing record.
        return TrainingCompletion(), True

    def get_import_id_fields(self):
        return []

    def _check_import_id_fields(self, headers):
        pass

    # Checking one row -------------------------------------------------------------------------

    def import_instance(self, instance, row, **kwargs):
        problems = []
        username = _text(row.get("username"))
        user = self.users.get(username)
        if user is None:
            problems.append(f"Unknown user '{username}'.")
        slug, version_text = _text(row.get("module")), _text(row.get("version"))
        module_version = self.versions.get((slug, version_text))
        if module_version is None:
            problems.append(f"Unknown module version: module '{slug}' version '{version_text}'.")
        completed_on = self._date(row.get("completed_on"), problems)
        score = self._score(row.get("score"), problems)
        passed = self._passed(row.get("passed"), problems)
        if completed_on is not None and score is not False:
            try:
                check_completion(completed_on=completed_on, score=score)
            except DomainError as error:
                problems.append(error.message)
        if module_version is not None and score is not False:
            try:
                passed = derive_passed(module_version, score, passed)
            except DomainError as error:
                problems.append(error.message)
        if user is not None and module_version is not None and completed_on is not None:
            key = (user.pk, module_version.pk, completed_on)
            where = f"{username} completed {module_version} on {completed_on}"
            if key in self.on_record:
                problems.append(f"Already on record: {where}.")
            elif key in self.seen_in_file:
                problems.append(f"Duplicate of row {self.seen_in_file[key]} in this file: {where}.")
            else:
                self.seen_in_file[key] = kwargs.get("row_number")
        if problems:
            raise ValidationError(problems)
        instance.user = user
        instance.module_version = module_version
        instance.completed_on = completed_on
        instance.score = score
        instance.passed = passed
        instance.expires_on = add_months(completed_on, module_version.validity_months)
        instance.recorded_by = self.importer
        self.imported_user_ids.add(user.pk)
        self.imported_count += 1

    @staticmethod
    def _date(value, problems) -> datetime.date | None:
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        text = _text(value)
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            problems.append(f"The completion date '{text}' is not a date (write YYYY-MM-DD).")
            return None

    @staticmethod
    def _score(value, problems) -> Decimal | None:
        """The score, None when blank, False when unreadable (already reported)."""
        text = _text(value)
        if not text:
            return None
        try:
            score = Decimal(text)
        except InvalidOperation:
            problems.append(f"The score '{text}' is not a number.")
            return False
        if not score.is_finite():
            problems.append(f"The score '{text}' is not a number.")
            return False
        return score

    @staticmethod
    def _passed(value, problems) -> bool | None:
        """Passed as the file states it; None when blank (or unreadable, already reported)."""
        if isinstance(value, bool):
            return value
        text = _text(value).lower()
        if not text:
            return None
        if text in PASSED_WORDS:
            return True
        if text in FAILED_WORDS:
            return False
        problems.append(f"'{_text(value)}' in the passed column is neither yes nor no.")
        return None

    # Writing --------------------------------------------------------------------------------

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        if dry_run:
            # A preview writes nothing: every rule was checked row by row already.
            self.create_instances.clear()
            return
        if not self.create_instances:
            return
        try:
            bulk_create_with_history(
                self.create_instances,
                TrainingCompletion,
                batch_size=batch_size,
                default_user=self.importer,
            )
        except Exception as error:
            self.handle_import_error(result, error, raise_errors)
        finally:
            self.create_instances.clear()
