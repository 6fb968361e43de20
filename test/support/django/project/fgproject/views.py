from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class LoopbackHosts(set):
    """A set of allowed redirect hosts that also contains every loopback host on any port.

    url_has_allowed_host_and_scheme() tests `netloc in allowed_hosts`; the browser test redirects
    back to flowergate on another 127.0.0.1 port via ?next=.
    """

    def __contains__(self, netloc):
        if super().__contains__(netloc):
            return True
        if not isinstance(netloc, str):
            return False
        try:
            host = urlsplit("//" + netloc).hostname
        except ValueError:
            return False
        return host in LOOPBACK


def allowed_hosts(request):
    return LoopbackHosts({request.get_host(), *settings.FGTEST_REDIRECT_HOSTS})


class LoopbackLoginView(LoginView):
    template_name = "registration/login.html"

    def get_success_url_allowed_hosts(self):
        # Note: `set | set` would return a plain set, so build the subclass explicitly.
        return LoopbackHosts({*super().get_success_url_allowed_hosts(), *settings.FGTEST_REDIRECT_HOSTS})


def logout_view(request):
    logout(request)
    target = request.POST.get("next", request.GET.get("next", "/"))
    if not url_has_allowed_host_and_scheme(target, allowed_hosts=allowed_hosts(request)):
        target = "/"
    return HttpResponseRedirect(target)


def home(request):
    user = request.user
    if user.is_authenticated:
        body = f"<p>Logged in as <b id='username'>{escape(user.get_username())}</b>.</p>"
    else:
        body = "<p>Not logged in. <a href='/accounts/login/'>Log in</a></p>"
    return HttpResponse(f"<!doctype html><title>flowergate test site</title>{body}")


def whoami(request):
    user = request.user
    return JsonResponse(
        {
            "authenticated": bool(user.is_authenticated),
            "userId": str(user.pk) if user.is_authenticated else None,
            "username": user.get_username() if user.is_authenticated else "",
            "isSuperuser": bool(user.is_superuser),
            "isStaff": bool(user.is_staff),
            "isActive": bool(user.is_active),
        }
    )
