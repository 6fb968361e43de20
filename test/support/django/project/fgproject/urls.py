from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("whoami/", views.whoami, name="whoami"),
    path("accounts/login/", views.LoopbackLoginView.as_view(), name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
]
