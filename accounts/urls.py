from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("setup/", views.setup, name="setup"),
    path("backup-codes/", views.backup_codes, name="backup_codes"),
]
