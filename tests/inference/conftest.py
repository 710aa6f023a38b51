from tests.support.fixtures import cpu_settings, model_set, model_store, photos

__all__ = ["cpu_settings", "model_set", "model_store", "photos"]
