"""Portal page texts in zh-CN (default) and English; ``?lang=en`` or the ``sf_lang`` cookie picks."""

from __future__ import annotations

from ...web.i18n import LANG_COOKIE, Translator, pick_lang, table_translator

# key → (zh-CN, English)
MESSAGES: dict[str, tuple[str, str]] = {
    "title": ("免费 WiFi 登录", "Free WiFi login"),
    "intro": ("请用手机号验证码或上网券登录。", "Log in with a code sent to your phone, or with a voucher."),
    "phone": ("手机号", "Mobile number"),
    "phone_hint": ("11 位手机号", "11-digit mobile number"),
    "send_code": ("获取验证码", "Send code"),
    "code": ("验证码", "Code"),
    "code_hint": ("6 位数字", "6 digits"),
    "code_sent": ("验证码已发送，5 分钟内有效。", "Code sent; it is valid for 5 minutes."),
    "login": ("登录上网", "Log in"),
    "voucher": ("上网券", "Voucher"),
    "voucher_hint": ("券上的 10 位代码", "the 10-character code on the card"),
    "use_voucher": ("使用上网券", "Use voucher"),
    "or": ("或", "or"),
    "accept": ("我已阅读并同意", "I have read and accept the"),
    "terms": ("上网服务条款", "terms of use"),
    "terms_title": ("上网服务条款", "Terms of use"),
    "terms_version": ("版本", "Version"),
    "terms_body": (
        "本免费 WiFi 依法实行实名登记，登录记录（手机号、设备地址、时间、流量）保存 60 天以备查验。"
        "请遵守法律法规，不得利用本网络从事违法活动。",
        "This free WiFi requires real-name login as the law demands; login records (phone number, device "
        "address, times, traffic) are kept for 60 days for inspection. Use the network lawfully.",
    ),
    "welcome_back": ("欢迎回来", "Welcome back"),
    "welcome_back_text": (
        "此设备已登录，点击即可继续上网。",
        "This device is already logged in; tap to continue.",
    ),
    "continue": ("继续上网", "Continue"),
    "continue_terms": ("继续即表示同意", "By continuing you accept the"),
    "connected": ("已连接，可以上网了", "You are online"),
    "connected_until": ("有效期至", "Valid until"),
    "open_page": ("继续访问原网页", "Go to the page you wanted"),
    "connecting": ("正在连接…", "Connecting…"),
    "connecting_link": ("如未自动跳转，请点此处", "If nothing happens, tap here"),
    "language": ("English", "中文"),
    "retry": ("请重新打开任意网页再试。", "Open any web page to try again."),
    "attempts_left": ("剩余尝试次数", "Attempts left"),
    "m_bad_signature": ("登录链接无效", "Invalid login link"),
    "m_bad_signature_text": (
        "登录链接已过期或被修改。请重新打开任意网页。",
        "The login link has expired or was changed. Open any web page again.",
    ),
    "m_login_expired": ("登录页已过期", "Login page expired"),
    "m_login_expired_text": (
        "此登录页已使用或已过期，请重新打开任意网页。",
        "This page was used or expired; open any web page.",
    ),
    "m_invalid_phone": ("手机号不正确", "Invalid mobile number"),
    "m_invalid_phone_text": (
        "请输入 11 位中国大陆手机号。",
        "Enter an 11-digit mainland China mobile number.",
    ),
    "m_terms_required": ("请先同意服务条款", "Accept the terms first"),
    "m_terms_required_text": ("请勾选同意上网服务条款。", "Tick the box to accept the terms of use."),
    "m_code_rejected": ("验证码错误", "Wrong code"),
    "m_code_rejected_text": ("验证码错误或已失效。", "The code is wrong or no longer valid."),
    "m_code_locked_text": ("错误次数过多，请重新获取验证码。", "Too many wrong codes; request a new code."),
    "m_voucher_rejected": ("上网券无效", "Voucher not accepted"),
    "m_voucher_rejected_text": (
        "上网券无效、已过期、已作废或已达设备上限。",
        "The voucher is invalid, expired, revoked or used on too many devices.",
    ),
    "m_sms_limited": ("请求过于频繁", "Too many requests"),
    "m_sms_limited_text": (
        "验证码请求过多，请稍后再试或使用上网券。",
        "Too many codes requested; wait, or use a voucher.",
    ),
    "m_sms_failed": ("短信发送失败", "SMS not sent"),
    "m_sms_failed_text": (
        "短信暂时无法发送，请稍后再试。",
        "The SMS could not be sent; try again in a minute.",
    ),
    "m_denied": ("无法上网", "Access denied"),
    "m_denied_text": (
        "此账号的设备数量已达上限或热点暂不可用。",
        "This number has too many devices online, or the hotspot is not available.",
    ),
    "m_quota": ("今日流量已用完", "Data quota used up"),
    "m_quota_text": (
        "今日流量已用完，明天零点重置。",
        "Today's data quota is used up; it resets at midnight.",
    ),
    "m_expired": ("上网时长已到", "Session expired"),
    "m_expired_text": ("本次上网时间已到，请重新登录。", "Your session has ended; log in again."),
    "m_unreachable": ("暂时无法连接", "Controller unreachable"),
    "m_unreachable_text": (
        "暂时无法连接登录服务器，请稍后再试。已登录的设备不受影响。",
        "The login server cannot be reached right now; try again later. Devices already online stay online.",
    ),
    "m_activate": ("请完成验证", "Finish verification"),
    "m_activate_text": ("请在 15 分钟内完成验证。", "Finish verification within 15 minutes."),
    "m_failed_validation": ("验证失败", "Validation failed"),
    "m_failed_validation_text": ("验证未完成，请重新登录。", "Validation did not finish; log in again."),
    "m_error": ("出错了", "Something went wrong"),
    "m_error_text": ("请稍后再试。", "Please try again later."),
    "print_title": ("上网券", "WiFi vouchers"),
    "print_duration": ("时长", "Duration"),
    "print_devices": ("设备数", "Devices"),
}
MESSAGE_PAGES = (
    "bad_signature",
    "login_expired",
    "invalid_phone",
    "terms_required",
    "code_rejected",
    "voucher_rejected",
    "sms_limited",
    "sms_failed",
    "denied",
    "quota",
    "expired",
    "unreachable",
    "activate",
    "failed_validation",
    "error",
)


def translator(lang: str) -> Translator:
    return table_translator(MESSAGES, lang)


__all__ = ["LANG_COOKIE", "MESSAGES", "MESSAGE_PAGES", "pick_lang", "translator"]
