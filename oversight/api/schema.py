"""OpenAPI description of the API-key scheme (drf-spectacular finds it on import)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AISystemKeyScheme(OpenApiAuthenticationExtension):
    target_class = "oversight.api.authentication.AISystemKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`: one key per AI system, created in the admin or "
            "with `python manage.py create_api_key SYSTEM_SLUG`.",
        }
