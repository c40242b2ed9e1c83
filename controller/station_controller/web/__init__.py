"""Shared web kit below every feature's pages: templating, i18n, CSRF, console rendering, the staff-user
dependencies and the console's HTML error handler. Imports no feature (only ``auth`` for the user).

A feature's console page (see /tmp/team/WEBKIT.md and docs/architecture.md)::

    from station_controller.web import ConsoleOperator, ConsoleUser, CsrfToken, render

    @router.get("/")
    def page(request: Request, user: ConsoleUser, settings: AppSettings) -> Response:
        return render(request, "firmware.html", {...}, settings=settings, user=user)
"""

from .deps import (
    ConsoleAdmin,
    ConsoleOperator,
    ConsoleUser,
    ConsoleViewer,
    CsrfToken,
    OptionalConsoleUser,
    require_console_role,
)
from .errors import ErrorView, html_error, show_errors_with, wants_html
from .i18n import COMMON_LABELS, LabelTable
from .pages import (
    CONSOLE_PREFIX,
    LANDING_PATH,
    LOGIN_PATH,
    Flash,
    error_page,
    install_features,
    is_console_page,
    lang_of,
    page_labels,
    render,
    safe_next,
    secure_cookies,
    to_login,
)
from .static import static_url
from .templating import fmt_bytes

__all__ = [
    "COMMON_LABELS",
    "CONSOLE_PREFIX",
    "LANDING_PATH",
    "LOGIN_PATH",
    "ConsoleAdmin",
    "ConsoleOperator",
    "ConsoleUser",
    "ConsoleViewer",
    "CsrfToken",
    "ErrorView",
    "Flash",
    "LabelTable",
    "OptionalConsoleUser",
    "error_page",
    "fmt_bytes",
    "html_error",
    "install_features",
    "is_console_page",
    "lang_of",
    "page_labels",
    "render",
    "require_console_role",
    "safe_next",
    "secure_cookies",
    "show_errors_with",
    "static_url",
    "to_login",
    "wants_html",
]
