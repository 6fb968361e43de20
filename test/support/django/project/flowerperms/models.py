from django.db import models


class Flower(models.Model):
    """Exists only so that the custom permission `flowerperms.can_act` has a real Permission row."""

    name = models.CharField(max_length=100)

    class Meta:
        permissions = [("can_act", "Can act on Flower")]
