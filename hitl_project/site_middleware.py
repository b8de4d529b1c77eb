"""Middleware for the pages that the API for AI systems does not need, skipped on its paths.

The API under `API_PATH` authenticates every request by its key (no session, no cookie, no
form), answers JSON and writes no history row with a person on it. Sessions, the session user,
two-factor sign-in, messages and the history request do nothing there but cost time on every
call, so each is wrapped by `site_only`: on the API's paths the request goes straight to
the next layer; on every other path (the admin, /api/docs/ and /api/schema/, which sign staff
in) it runs as before.

The security headers (SecurityMiddleware, X-Frame-Options, Content-Security-Policy), the request
id and JSON errors and CommonMiddleware stay on every path, and so do two that checks look for
by name: CSRF (`check --deploy`; the API's views are exempt from it) and django-axes (on a
request that is not a login it only reads one attribute).
"""

from django.utils.module_loading import import_string

API_PATH = "/api/v1/"

_HOOKS = ("process_view", "process_exception", "process_template_response")


def is_api_request(request) -> bool:
    return request.path_info.startswith(API_PATH)


def site_only(dotted_path: str):
    """`dotted_path`'s middleware, not run for requests under API_PATH.

    A middleware class gives a subclass (so Django's and the apps' checks still find the class
    they require in MIDDLEWARE); a middleware factory function gives a factory.
    """
    original = import_string(dotted_path)
    if isinstance(original, type):
        return _site_only_class(original)
    return _site_only_factory(original)


def _site_only_class(original: type) -> type:
    def __call__(self, request):
        if is_api_request(request):
            return self.get_response(request)
        return original.__call__(self, request)

    namespace = {"__call__": __call__, "__module__": __name__, "__doc__": original.__doc__}
    for hook in _HOOKS:
        if hasattr(original, hook):
            namespace[hook] = _skip_on_api_method(getattr(original, hook))
    return type(original.__name__, (original,), namespace)


def _skip_on_api_method(hook):
    def method(self, request, *args, **kwargs):
        if is_api_request(request):
            return None
        return hook(self, request, *args, **kwargs)

    return method


def _site_only_factory(factory):
    def build(get_response):
        inner = factory(get_response)

        def middleware(request):
            if is_api_request(request):
                return get_response(request)
            return inner(request)

        return middleware

    return build


SessionMiddleware = site_only("django.contrib.sessions.middleware.SessionMiddleware")
AuthenticationMiddleware = site_only("django.contrib.auth.middleware.AuthenticationMiddleware")
OTPMiddleware = site_only("django_otp.middleware.OTPMiddleware")
TwoFactorRequiredMiddleware = site_only("accounts.middleware.TwoFactorRequiredMiddleware")
MessageMiddleware = site_only("django.contrib.messages.middleware.MessageMiddleware")
HistoryRequestMiddleware = site_only("simple_history.middleware.HistoryRequestMiddleware")
