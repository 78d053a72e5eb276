"""Which registry answers for a code (issue 17): the setting REGISTRIES ("civil=local,retirement=https://host/path")
names, per registry code, `local` (the registry_record table, registries.LocalRegistry) or the URL of an external
registry's JSON API (registries_http.HttpRegistry, with REGISTRY_TIMEOUT_SECONDS). A code it does not name is local.
Above both implementations, so that neither imports the other."""
from intranet.automation.registries import LocalRegistry, Registry
from intranet.automation.registries_http import HttpRegistry
from intranet.config import setting


def configured() -> dict[str, str]:
    """REGISTRIES as {code: "local" or URL}."""
    pairs = (item.split("=", 1) for item in setting("REGISTRIES").split(",") if "=" in item)
    return {code.strip(): where.strip() for code, where in pairs if code.strip()}


def registry(code: str) -> Registry:
    """The registry named `code`."""
    where = configured().get(code, "local")
    if where.startswith(("http://", "https://")):
        return HttpRegistry(code, where, timeout=setting("REGISTRY_TIMEOUT_SECONDS"))
    return LocalRegistry(code)
