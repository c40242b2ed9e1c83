"""Language choice (zh-CN default, English) and label tables ``key → (zh-CN, English)`` for every page."""

from __future__ import annotations

from collections.abc import Callable, Mapping

LANGS = ("zh", "en")
LANG_COOKIE = "sf_lang"

Translator = Callable[[str], str]
LabelTable = Mapping[str, tuple[str, str]]


def pick_lang(query_lang: str | None, cookie_lang: str | None) -> str:
    """``?lang=`` wins over the cookie; anything unknown falls back to zh."""
    for value in (query_lang, cookie_lang):
        if value in LANGS:
            return value
    return LANGS[0]


def table_translator(table: LabelTable, lang: str) -> Translator:
    """A ``t(key)`` over ``table``; an unknown key shows itself so a gap is visible, not fatal."""
    index = LANGS.index(lang) if lang in LANGS else 0

    def t(key: str) -> str:
        pair = table.get(key)
        return pair[index] if pair else key

    return t


# The console chrome's labels (menu bar, login, error page) and the nouns every console page shares;
# a page adds its own table with ``render(..., labels=TABLE)``. key → (zh-CN, English)
COMMON_LABELS: dict[str, tuple[str, str]] = {
    "app": ("站点运维控制台", "Station Fleet console"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "language": ("English", "中文"),
    "csrf_failed": ("表单已过期，请刷新页面后重试", "The form expired; reload the page and try again"),
    "not_found": ("未找到", "Not found"),
    "forbidden": ("无权限执行此操作", "Your role does not allow this action"),
    "error": ("出错了", "Something went wrong"),
    "back": ("返回站点列表", "Back to stations"),
    "online": ("在线", "online"),
    "offline": ("离线", "offline"),
    "station": ("站点", "Station"),
    "device": ("设备", "Device"),
    "devices": ("设备", "Devices"),
    "region": ("区域", "Region"),
    "role": ("角色", "Role"),
    "status": ("状态", "Status"),
    "command": ("命令", "Command"),
    "created_at": ("时间", "Time"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "updated": ("自动刷新", "auto-refresh"),
}


def console_translator(lang: str, labels: LabelTable | None = None) -> Translator:
    """``t(key)`` over the common labels, with a page's own ``labels`` taking precedence."""
    return table_translator({**COMMON_LABELS, **labels} if labels else COMMON_LABELS, lang)
