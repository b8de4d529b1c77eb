"""The API's JSON parser: DRF's, plus the checks of `oversight.json_guard` on the whole body.

Running the guard here, before any serializer or service reads the body, means a NUL, a lone
surrogate, a deep nest or a key flood is refused with a 400 naming the field, on every
endpoint, instead of failing later in the database or in a recursive walk.
"""

from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser

from oversight.json_guard import UnsafeJSON, check_json, max_depth


class GuardedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            # Python's reader gives up near 1,000 levels: far past the limit, so say that.
            raise ValidationError(
                {"body": [f"nested too deeply to read: at most {max_depth()} levels."]}
            ) from None
        try:
            check_json(data)
        except UnsafeJSON as error:
            raise ValidationError({error.path: [error.problem]}) from None
        return data
