"""The web app: checklist entry with a live differential, CT upload, and the case store.

Thin over the library: pages and the JSON API parse input, call ``hepcal.reasoning.assess`` or
the CT pipeline, and render. See docs/web.md.
"""

from hepcal.web.settings import Settings, check_exposure, from_env

__all__ = ["Settings", "check_exposure", "create_app", "from_env"]


def create_app(settings: Settings):  # type: ignore[no-untyped-def]
    """Build the FastAPI app (imported lazily so ``hepcal --help`` stays fast)."""
    from hepcal.web.app import create_app as _create

    return _create(settings)
