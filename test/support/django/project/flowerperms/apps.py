from django.apps import AppConfig


class FlowerpermsConfig(AppConfig):
    name = "flowerperms"
    default_auto_field = "django.db.models.AutoField"
