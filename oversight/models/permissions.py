"""Object permissions on journeys and AI systems, as direct foreign keys for django-guardian.

Guardian finds these models by their base classes and uses them instead of its generic table
for Journey and AISystem: rows point at real rows (no key reused by a later object inherits
them) and queue filtering joins on an indexed foreign key instead of casting text ids.
The rows are derived data: the authority service writes them from grants and manager
assignments, and `reconcile_authority` re-derives them; the grants are the evidence.
"""

from django.db import models
from guardian.models import UserObjectPermissionBase

from oversight.models.systems import AISystem, Journey

# The reverse relations must stay visible (no related_name="+"): guardian finds these models
# by walking the guarded model's relations.


class JourneyUserObjectPermission(UserObjectPermissionBase):
    """`decide_journey`, `override_journey` and `manage_authority_journey` rows."""

    content_object = models.ForeignKey(Journey, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = "journey permission of a user"


class AISystemUserObjectPermission(UserObjectPermissionBase):
    """`manage_authority_ai_system` rows: who manages authority on which AI system."""

    content_object = models.ForeignKey(AISystem, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = "AI system permission of a user"
