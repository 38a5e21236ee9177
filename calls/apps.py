from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = "Calls"

    def ready(self) -> None:
        from calls import checks, metrics  # noqa: F401  (checks registers itself)

        metrics.celery_signals_connect()
